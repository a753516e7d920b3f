FROM busybox:1.36

LABEL maintainer someone <someone@example.org>

ONBUILD RUN ["echo", "built on me"]
ONBUILD RUN echo built on me
ONBUILD COPY . /

# RUN Commands \
# a backslash at the end of a comment continues nothing \
RUN ["ls", "-la"]
RUN echo '1234' && \
    echo "456" && \
    echo 789
RUN mkdir -p /a /b /c/d

# ENV \
ENV ONE 1 TWO 2
ENV ONE "1 TWO 2"

# CMD \
CMD echo 'test' | wc -

#EXPOSE\
EXPOSE 3000
EXPOSE 9000 5000 6000

USER nobody
USER nobody:nogroup

VOLUME ["/data"]
VOLUME ["/data", "/logs"]
VOLUME /cache

WORKDIR /srv

ADD . /
COPY . copy
