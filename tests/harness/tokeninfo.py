#!/usr/bin/env python3
"""An OAuth 2 token-info endpoint on 127.0.0.1 for Dovecot's oauth2 passdb:
GET /tokeninfo?access_token=TOKEN answers {"email": USER} for the one
valid TOKEN, 401 otherwise.

usage: tokeninfo.py TOKEN USER PORTFILE   (runs until killed)"""
import http.server
import json
import os
import sys
import urllib.parse

token, user, portfile = sys.argv[1], sys.argv[2], sys.argv[3]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        ok = q.get("access_token", [""])[0] == token
        body = json.dumps({"email": user} if ok else {"error": "invalid_token"}).encode()
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
