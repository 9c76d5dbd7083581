"""The daemon's HTTP/1.1 front: bytes on the wire to HttpRequest, HttpResponse back to bytes.

  httpio.py      llhttp (httptools) parsing with API Gateway's limits; responses written
  connection.py  one client connection (timeouts, pipelining) and the cap on open connections

Imports local/http.py and the ground only.
"""
