"""The shop's web app: one page naming the first user, read from PostgreSQL through psql (the
connection comes from PGHOST, PGPORT, PGDATABASE, PGUSER and PGPASSWORD). Listens on $PORT."""
import http.server
import os
import subprocess
import sys

VERSION = sys.argv[1] if len(sys.argv) > 1 else "dev"


class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        q = subprocess.run(["psql", "-AtX", "-c", "SELECT name FROM user_names ORDER BY id LIMIT 1"],
                           capture_output=True, text=True, timeout=10)
        if q.returncode != 0:
            self.send_response(503)
            body = "database unavailable: %s\n" % q.stderr.strip()
        else:
            self.send_response(200)
            body = "<h1>shop %s</h1><p>first customer: %s</p>\n" % (VERSION, q.stdout.strip())
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, fmt, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Page).serve_forever()
