FROM ubuntu:24.04
LABEL author Ada \\Lovelace <ada@example.org>\"

RUN apt-get \update && \
  apt-get \"install tool -y
ADD \conf\\" /etc/tool

RUN one \

two \

three

CMD [ "\/opt\\\"/bin/tool", "-f", "-v" ]
