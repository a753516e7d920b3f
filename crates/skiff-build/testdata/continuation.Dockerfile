FROM debian:bookworm

RUN printf one\
  two\
  three  \
  four\
  five\
six
RUN printf a  \
  b
RUN printf a  \
b
RUN printf hello \
there\
friend
RUN printf x  \  
y
RUN printf p \
 \
 q \
\
 r\
\
s
RUN printf glued\
tokens
RUN printf  split\
 tokens\
again

RUN printf before \
# a comment that does not end the instruction

# another one, with blank lines around it

after the comments
