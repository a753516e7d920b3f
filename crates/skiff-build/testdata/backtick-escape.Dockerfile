# escape=`

FROM mcr.microsoft.com/windows/servercore:ltsc2022
LABEL maintainer ops@example.org
ENV APPDIR C:\app\
WORKDIR C:\app
COPY build\out\ C:\app\
RUN powershell -Command `
    $ErrorActionPreference = 'Stop'; `
    Write-Host "C:\path\with\backslashes"
RUN echo one ``
RUN echo two
ENV LEGACY `
C:\go
