FROM scratch
CMD []
CMD [""]
CMD ["one"]
CMD ["one","two"]
CMD [ "one", "two" ]
CMD [	"one",	"two"	]
CMD	[	"one",	"two"	]	
CMD ["text 42", "♥", "☃", "\" \\ \/ \b \f \n \r \t \u0000"]
CMD "[\"sh\", \"-c\", \"json hidden in a string\"]"
CMD '["sh", "-c"]'
CMD ['single', 'quotes']
CMD ["unterminated", "bracket"
CMD ["unterminated string]
ENTRYPOINT [ "/usr/sbin/daemon" ]
ENTRYPOINT daemon --foreground
RUN ["ls", "-la"]
RUN ["echo", "'1234'"]
RUN echo "1234"
RUN    sh -c 'echo root:secret \
        > /tmp/passwd'
