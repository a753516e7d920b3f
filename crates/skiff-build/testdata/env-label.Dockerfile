FROM alpine
ENV key value
ENV key=value
ENV key=value key2=value2
ENV key="value with spaces"
ENV key=value\ escaped
ENV key="value'single inside'double"
ENV key='value"double inside"single'
ENV key=a\ b key2=c\ d
ENV key="a\"b"
ENV key="a\'b"
ENV key='a\'b'
ENV key='a\'b''
ENV key='a\"b'
ENV key="''"
LABEL "org.opencontainers.image.title"="My App" version="1.0" \
      description="spans \
      two lines"
LABEL maintainer="Ada <ada@example.org>"
# the last instruction continues into the end of the file
ENV key=value \
    key1=value1 \
    key2="value2a \
          value2b" \
    key3="value3a\n\"value3b\"" \
	key4="value4a\\nvalue4b" \
