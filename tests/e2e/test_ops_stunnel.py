"""Implicit TLS (POP3S, RFC 8314) with a real stunnel from Debian in front
of postoffice, as docs/operators.md describes it.

Each run makes a throwaway CA and a server certificate (SAN 127.0.0.1 and
localhost) with openssl in a temporary folder, starts stunnel in the
foreground with a private config, and fetches through it with clients
that verify the certificate against that CA: Python's poplib.POP3_SSL and
curl pop3s://.  A client that does not trust the CA must fail the
handshake.  One stunnel service connects to a plain listener, the other
sends a PROXY v1 header (protocol = proxy) to a proxy listener.

A missing stunnel or openssl is a failure, not a skip: tests/deps.sh
installs them.
"""
import os
import poplib
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from harness import Server, mbox_from, wire_form
from test_ops_proxy import PROXY_LISTENERS, free_port, proxy_ports

# A message whose wire form needs CRLFs added and a line dot-stuffed.
MSG = (b"From: Alice <alice@example.org>\nSubject: over TLS\n\n"
       b"first line\n.a line that starts with a dot\nlast line\n")


def need(tool):
    for name in ([tool] if tool != "stunnel" else ["stunnel4", "stunnel"]):
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError("%s is not installed: run tests/deps.sh" % tool)


def openssl(*args, cwd):
    r = subprocess.run([need("openssl")] + list(args), cwd=cwd,
                       capture_output=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError("openssl %s: %s" % (" ".join(args), r.stderr.decode()))


def make_pki(d):
    """ca.pem (the test CA), server.pem and server.key (signed by it, SAN
    127.0.0.1 and localhost), and other-ca.pem (a CA that signed nothing)."""
    for ca, cn in (("ca", "postoffice test CA"), ("other-ca", "some other CA")):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", ca + ".key", "-out", ca + ".pem", "-days", "2",
                "-subj", "/CN=" + cn,
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=d)
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "2",
            "-extfile", "server.ext", cwd=d)
    os.chmod(os.path.join(d, "server.key"), 0o600)


class Stunnel(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.pki = tempfile.mkdtemp(prefix="po-stunnel-pki-")
        try:
            make_pki(cls.pki)
        except BaseException:
            shutil.rmtree(cls.pki, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pki, ignore_errors=True)

    def setUp(self):
        self.srv = Server(mbox={"alice": mbox_from([MSG])}, extra_config=PROXY_LISTENERS)
        self.srv.start()
        self.addCleanup(self.srv.cleanup)
        self.proxy_port = proxy_ports(self.srv)["pop3"]
        self.dir = tempfile.mkdtemp(prefix="po-stunnel-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.port, self.pport = free_port(), free_port()
        conf = os.path.join(self.dir, "stunnel.conf")
        with open(conf, "w") as f:
            f.write("foreground = yes\n"
                    "pid =\n"
                    "debug = notice\n"
                    "[pop3s]\n"
                    "accept = 127.0.0.1:%d\n"
                    "connect = 127.0.0.1:%d\n"
                    "cert = %s\n"
                    "key = %s\n"
                    "sslVersionMin = TLSv1.2\n"
                    "[pop3s-proxy]\n"
                    "accept = 127.0.0.1:%d\n"
                    "connect = 127.0.0.1:%d\n"
                    "cert = %s\n"
                    "key = %s\n"
                    "sslVersionMin = TLSv1.2\n"
                    "protocol = proxy\n"
                    % (self.port, self.srv.pop3_port, self.cert("server.pem"),
                       self.cert("server.key"), self.pport, self.proxy_port,
                       self.cert("server.pem"), self.cert("server.key")))
        self.stunnel = subprocess.Popen([need("stunnel"), conf], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.addCleanup(self.stop_stunnel)
        self.wait_listening(self.port)
        self.wait_listening(self.pport)

    def cert(self, name):
        return os.path.join(self.pki, name)

    def wait_listening(self, port):
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if time.time() > deadline or self.stunnel.poll() is not None:
                    self.stop_stunnel()
                    self.fail("stunnel did not start: %r" % self.stunnel_log)
                time.sleep(0.1)

    stunnel_log = b""

    def stop_stunnel(self):
        if self.stunnel.poll() is None:
            self.stunnel.terminate()
            try:
                self.stunnel.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.stunnel.kill()
                self.stunnel.wait()
        if not self.stunnel.stderr.closed:
            self.stunnel_log += self.stunnel.stderr.read()
            self.stunnel.stderr.close()

    def trusting(self):
        ctx = ssl.create_default_context(cafile=self.cert("ca.pem"))
        self.assertTrue(ctx.check_hostname)
        self.assertEqual(ctx.verify_mode, ssl.CERT_REQUIRED)
        return ctx

    def wait_log(self, pattern, timeout=5):
        m = self.srv.wait_log(pattern, timeout)
        if not m:
            self.fail("%r not in log %r" % (pattern, self.srv.log[-2000:]))
        return m

    def test_poplib_verifies_the_certificate_and_retrieves_byte_for_byte(self):
        for host in ("127.0.0.1", "localhost"):
            p = poplib.POP3_SSL(host, self.port, context=self.trusting(), timeout=10)
            self.assertEqual(p.sock.version()[:4], "TLSv")
            self.assertGreaterEqual(p.sock.version(), "TLSv1.2")
            peer = p.sock.getpeercert()
            self.assertIn(("IP Address", "127.0.0.1"), peer["subjectAltName"])
            self.assertTrue(p.getwelcome().startswith(b"+OK POP3 postoffice ready"))
            p.user("alice")
            p.pass_("wonderland")
            self.assertEqual(p.stat(), (1, len(wire_form(MSG))))
            # poplib's retr() drops line ends and undoes dot-stuffing; read
            # the raw reply instead to compare octets.
            p._putcmd("RETR 1")
            self.assertTrue(p._getresp().startswith(b"+OK"))
            raw = b""
            while not raw.endswith(b"\r\n.\r\n"):
                chunk = p.file.readline()
                self.assertTrue(chunk, "connection closed inside RETR")
                raw += chunk
            stuffed = wire_form(MSG).replace(b"\r\n.", b"\r\n..")
            self.assertEqual(raw, stuffed + b".\r\n")
            self.assertTrue(p.quit().startswith(b"+OK"))
        # Without protocol = proxy every session is stunnel's own loopback.
        self.wait_log(rb"pop3 127\.0\.0\.1:\d+: end: user=alice retrieved=1")

    def test_curl_with_the_ca_retrieves_byte_for_byte(self):
        for host in ("127.0.0.1", "localhost"):
            r = subprocess.run(
                [need("curl"), "-s", "-S", "--max-time", "60",
                 "--cacert", self.cert("ca.pem"),
                 "pop3s://alice:wonderland@%s:%d/1" % (host, self.port)],
                capture_output=True, timeout=90)
            self.assertEqual(r.returncode, 0, r.stderr)
            # curl removes the dot-stuffing and keeps the CRLFs.
            self.assertEqual(r.stdout, wire_form(MSG))

    def test_a_client_that_does_not_trust_the_ca_is_refused(self):
        untrusting = ssl.create_default_context(cafile=self.cert("other-ca.pem"))
        with self.assertRaises(ssl.SSLCertVerificationError) as e:
            poplib.POP3_SSL("127.0.0.1", self.port, context=untrusting, timeout=10)
        self.assertIn("certificate verify failed", str(e.exception))
        # curl with only the other CA, and curl with the system's CAs.
        for extra in (["--cacert", self.cert("other-ca.pem")], []):
            r = subprocess.run(
                [need("curl"), "-s", "-S", "--max-time", "60"] + extra
                + ["pop3s://alice:wonderland@127.0.0.1:%d/1" % self.port],
                capture_output=True, timeout=90)
            self.assertEqual(r.returncode, 60, r.stderr)  # CURLE_PEER_FAILED_VERIFICATION
            self.assertEqual(r.stdout, b"")
        # A name the certificate does not carry fails too, even with the CA.
        ctx = self.trusting()
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        with self.assertRaises(ssl.SSLCertVerificationError) as e:
            ctx.wrap_socket(sock, server_hostname="mail.example.org")
        sock.close()
        self.assertIn("mail.example.org", str(e.exception))
        # None of these reached a login.
        self.assertNotIn(b"user=alice", self.srv.read_log())

    def test_plain_pop3_on_the_tls_port_gets_no_greeting(self):
        c = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        self.addCleanup(c.close)
        c.sendall(b"USER alice\r\n")
        c.settimeout(10)
        try:
            data = c.recv(4096)
        except ConnectionResetError:
            data = b""
        self.assertNotIn(b"+OK", data)

    def test_protocol_proxy_gives_postoffice_the_client_address(self):
        p = poplib.POP3_SSL("localhost", self.pport, context=self.trusting(), timeout=10)
        local = p.sock.getsockname()
        p.user("alice")
        p.pass_("wonderland")
        self.assertEqual(p.stat(), (1, len(wire_form(MSG))))
        p.quit()
        # stunnel's header names our own port, not stunnel's outgoing one.
        m = self.wait_log(rb"PROXY: client 127\.0\.0\.1:%d via 127\.0\.0\.1:(\d+)\n"
                          % local[1])
        self.assertNotEqual(int(m.group(1)), local[1])
        self.wait_log(rb"pop3 127\.0\.0\.1:%d: end: user=alice" % local[1])


if __name__ == "__main__":
    unittest.main()
