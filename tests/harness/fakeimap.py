#!/usr/bin/env python3
"""A scripted IMAP/POP3 server on 127.0.0.1 for fault tests: it does one
thing wrong on purpose and logs every line it receives.

usage: fakeimap.py MODE PORTFILE LOGFILE
  silent      accepts connections and never says a word (read time-outs)
  nostarttls  IMAP greeting and CAPABILITY without STARTTLS
  nostls      POP3 greeting and CAPA without STLS
Writes the port it listens on to PORTFILE; runs until killed."""
import socket
import sys
import threading
import time

mode, portfile, logfile = sys.argv[1], sys.argv[2], sys.argv[3]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(8)
log = open(logfile, "a", buffering=1)


def serve(c):
    f = c.makefile("rwb", buffering=0)
    try:
        if mode == "silent":
            time.sleep(3600)
            return
        if mode == "nostarttls":
            f.write(b"* OK IMAP4rev1 fake ready\r\n")
        else:
            f.write(b"+OK fake POP3 ready\r\n")
        for line in f:
            log.write(line.decode("latin-1").rstrip("\r\n") + "\n")
            parts = line.split()
            if not parts:
                continue
            if mode == "nostarttls":
                tag = parts[0]
                cmd = parts[1].upper() if len(parts) > 1 else b""
                if cmd == b"CAPABILITY":
                    f.write(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + b" OK done\r\n")
                elif cmd == b"LOGOUT":
                    f.write(b"* BYE bye\r\n" + tag + b" OK done\r\n")
                    return
                else:
                    f.write(tag + b" NO not here\r\n")
            else:
                cmd = parts[0].upper()
                if cmd == b"CAPA":
                    f.write(b"+OK\r\nUSER\r\nUIDL\r\n.\r\n")
                elif cmd == b"QUIT":
                    f.write(b"+OK bye\r\n")
                    return
                else:
                    f.write(b"-ERR not here\r\n")
    except OSError:
        pass
    finally:
        c.close()


with open(portfile + ".tmp", "w") as p:
    p.write(str(srv.getsockname()[1]))
import os
os.rename(portfile + ".tmp", portfile)
while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
