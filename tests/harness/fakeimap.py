#!/usr/bin/env python3
"""A scripted IMAP/POP3 server on 127.0.0.1 for fault tests: it does one
thing wrong on purpose and logs every line it receives.

usage: fakeimap.py MODE PORTFILE LOGFILE [MAILDIR]
  silent      accepts connections and never says a word (read time-outs)
  nostarttls  IMAP greeting and CAPABILITY without STARTTLS
  nostls      POP3 greeting and CAPA without STLS
  nouidl      a plaintext POP3 server (USER/PASS, any password) without
              UIDL, serving the files of MAILDIR (sorted); DELE removes
              the file at QUIT
Writes the port it listens on to PORTFILE; runs until killed."""
import socket
import sys
import threading
import time

mode, portfile, logfile = sys.argv[1], sys.argv[2], sys.argv[3]
maildir = sys.argv[4] if len(sys.argv) > 4 else None
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(8)
log = open(logfile, "a", buffering=1)


def pop3_nouidl(f):
    import os
    names = sorted(os.listdir(maildir))
    msgs = [open(os.path.join(maildir, n), "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            for n in names]
    deleted = set()
    f.write(b"+OK fake POP3 without UIDL\r\n")
    for line in f:
        log.write(line.decode("latin-1").rstrip("\r\n") + "\n")
        parts = line.split()
        cmd = parts[0].upper() if parts else b""
        arg = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        if cmd == b"CAPA":
            f.write(b"+OK\r\nUSER\r\n.\r\n")
        elif cmd in (b"USER", b"PASS", b"NOOP", b"RSET"):
            f.write(b"+OK\r\n")
        elif cmd == b"STAT":
            live = [i for i in range(len(msgs)) if i not in deleted]
            f.write(b"+OK %d %d\r\n" % (len(live), sum(len(msgs[i]) for i in live)))
        elif cmd == b"LIST" and not arg:
            out = b"+OK\r\n"
            for i, m in enumerate(msgs):
                if i not in deleted:
                    out += b"%d %d\r\n" % (i + 1, len(m))
            f.write(out + b".\r\n")
        elif cmd == b"RETR" and 0 < arg <= len(msgs) and arg - 1 not in deleted:
            body = b"".join(b"." + l if l.startswith(b".") else l
                            for l in msgs[arg - 1].splitlines(True))
            f.write(b"+OK\r\n" + body + b".\r\n")
        elif cmd == b"DELE" and 0 < arg <= len(msgs):
            deleted.add(arg - 1)
            f.write(b"+OK\r\n")
        elif cmd == b"QUIT":
            for i in deleted:
                os.unlink(os.path.join(maildir, names[i]))
            f.write(b"+OK bye\r\n")
            return
        else:
            f.write(b"-ERR no such command\r\n")


def serve(c):
    f = c.makefile("rwb", buffering=0)
    try:
        if mode == "nouidl":
            pop3_nouidl(f)
            return
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
