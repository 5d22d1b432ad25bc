"""The web service: counts visits in the table the migrate job created."""

import os
import subprocess
from http.server import BaseHTTPRequestHandler, HTTPServer

QUERY = "INSERT INTO visits DEFAULT VALUES; SELECT count(*) FROM visits;"


class Visits(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        count = subprocess.run(
            ["/usr/bin/psql", os.environ["DATABASE_URL"], "-tAc", QUERY],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[-1]
        body = f"visits: {count}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("", 80), Visits).serve_forever()
