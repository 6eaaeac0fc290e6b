"""PROXY protocol v1 and v2 on "proxy" listeners: a real HAProxy in
front of postoffice, raw crafted headers, malformed ones."""
import os
import poplib
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import unittest

from harness import Conn, Server, mbox_from

MSG = b"Subject: through the balancer\n\nhello\n"
V2SIG = b"\r\n\r\n\x00\r\nQUIT\n"
PROXY_LISTENERS = "listen pop3 127.0.0.1:0 proxy\nlisten pop2 127.0.0.1:0 proxy\n"


def proxy_ports(srv):
    ports = {}
    deadline = time.time() + 5
    while len(ports) < 2 and time.time() < deadline:
        for kind, port in re.findall(
                rb"listening (pop3|pop2) 127\.0\.0\.1:(\d+) proxy\n", srv.read_log()):
            ports[kind.decode()] = int(port)
        time.sleep(0.02)
    return ports


def shut(c, timeout=8):
    """True if the server ends the connection (EOF, or a reset when it
    closes with our octets unread) within TIMEOUT, having sent nothing."""
    c.sock.settimeout(timeout)
    try:
        while True:
            chunk = c.sock.recv(65536)
            if not chunk:
                return True
            c.buf += chunk
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def v2(cmd, fam, body):
    return V2SIG + bytes([0x20 | cmd, fam]) + struct.pack("!H", len(body)) + body


def v2_tcp4(src, sport, dst="127.0.0.1", dport=110):
    return v2(1, 0x11, socket.inet_aton(src) + socket.inet_aton(dst)
              + struct.pack("!HH", sport, dport))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class ProxyServer(unittest.TestCase):
    extra = ""

    def setUp(self):
        self.srv = Server(mbox={"alice": mbox_from([MSG])},
                          extra_config=PROXY_LISTENERS + self.extra)
        self.srv.start()
        self.addCleanup(self.srv.cleanup)
        self.ports = proxy_ports(self.srv)
        self.assertEqual(sorted(self.ports), ["pop2", "pop3"], self.srv.log)

    def raw(self, header, kind="pop3"):
        c = Conn(socket.create_connection(("127.0.0.1", self.ports[kind]), timeout=10))
        self.addCleanup(c.close)
        c.send(header)
        return c

    def wait_log(self, pattern, timeout=5):
        m = self.srv.wait_log(pattern, timeout)
        if not m:
            self.fail("%r not in log %r" % (pattern, self.srv.log[-2000:]))
        return m


class RawHeaders(ProxyServer):
    extra = "max_sessions_per_host 1\n"

    def login_and_quit(self, c):
        self.assertTrue(c.line().startswith("+OK"))
        self.assertTrue(c.cmd("USER alice").startswith("+OK"))
        self.assertTrue(c.cmd("PASS wonderland").startswith("+OK"))
        self.assertTrue(c.cmd("QUIT").startswith("+OK"))

    def test_v1_tcp4_names_the_client_in_the_log(self):
        c = self.raw("PROXY TCP4 192.0.2.7 127.0.0.1 40001 110\r\n")
        self.login_and_quit(c)
        self.wait_log(rb"PROXY: client 192\.0\.2\.7:40001 via 127\.0\.0\.1:\d+\n")
        self.wait_log(rb"pop3 192\.0\.2\.7:40001: end: user=alice")

    def test_v1_tcp6_and_a_command_in_the_same_packet(self):
        # Nothing after the CRLF may be swallowed by the header reader.
        c = self.raw("PROXY TCP6 2001:db8::5 ::1 40002 110\r\nCAPA\r\n")
        self.assertTrue(c.line().startswith("+OK"))
        self.assertTrue(c.line().startswith("+OK"))
        self.assertIn(b"UIDL", c.multiline())
        self.wait_log(rb"PROXY: client \[2001:db8::5\]:40002 via")

    def test_v2_tcp4_and_tcp6(self):
        c = self.raw(v2_tcp4("198.51.100.9", 40003))
        self.login_and_quit(c)
        self.wait_log(rb"pop3 198\.51\.100\.9:40003: end: user=alice")
        six = (socket.inet_pton(socket.AF_INET6, "2001:db8::77")
               + socket.inet_pton(socket.AF_INET6, "::1") + struct.pack("!HH", 40004, 110))
        c = self.raw(v2(1, 0x21, six + b"\x04\x00\x01X"))  # with a NOOP TLV
        self.login_and_quit(c)
        self.wait_log(rb"pop3 \[2001:db8::77\]:40004: end: user=alice")

    def test_v2_local_and_v1_unknown_keep_the_connection_address(self):
        c = self.raw(v2(0, 0x00, b""))
        self.assertTrue(c.line().startswith("+OK"))
        c = self.raw("PROXY UNKNOWN\r\n")
        self.assertTrue(c.line().startswith("+OK"))
        self.assertEqual(len(re.findall(rb"names no client", self.srv.read_log())), 2)

    def test_pop2_listener_reads_it_too(self):
        c = self.raw(v2_tcp4("203.0.113.4", 40005), "pop2")
        self.assertTrue(c.line().startswith("+ POP2"))
        self.assertEqual(c.cmd("HELO alice wonderland"), "#1 messages")
        self.assertTrue(c.cmd("QUIT").startswith("+"))
        self.wait_log(rb"pop2 203\.0\.113\.4:40005: end: user=alice")

    def test_per_host_limit_does_not_count_the_balancer(self):
        a = self.raw("PROXY TCP4 192.0.2.1 127.0.0.1 40006 110\r\n")
        b = self.raw("PROXY TCP4 192.0.2.2 127.0.0.1 40007 110\r\n")
        self.assertTrue(a.line().startswith("+OK"))
        self.assertTrue(b.line().startswith("+OK"))
        # The plain listener still applies it.
        d = self.srv.connect()
        e = self.srv.connect()
        self.assertTrue(d.line().startswith("+OK"))
        self.assertTrue(e.line().startswith("-ERR [SYS/TEMP] Too many sessions from"))

    def test_malformed_headers_close_the_connection_without_a_word(self):
        bad = [
            b"USER alice\r\n",                                         # no header
            b"PROXY TCP4 192.0.2.7 127.0.0.1 40001 110\n",             # LF only
            b"PROXY TCP4 300.0.2.7 127.0.0.1 40001 110\r\n",           # bad address
            b"PROXY TCP4 2001:db8::1 127.0.0.1 40001 110\r\n",         # wrong family
            b"PROXY TCP5 192.0.2.7 127.0.0.1 40001 110\r\n",           # bad protocol
            b"PROXY TCP4 192.0.2.7 127.0.0.1 040001 110\r\n",          # leading zero
            b"PROXY TCP4 192.0.2.7 127.0.0.1 70000 110\r\n",           # port range
            b"PROXY TCP4 192.0.2.7  127.0.0.1 40001 110\r\n",          # two spaces
            b"PROXY TCP4 192.0.2.7 127.0.0.1 40001\r\n",               # field missing
            b"PROXY TCP4 192.0.2.7 127.0.0.1 40001 110 x\r\n",         # field extra
            b"PROXY " + b"A" * 120 + b"\r\n",                           # too long
            b"PROXY TCP4 192.0.2.7\x00 127.0.0.1 40001 110\r\n",       # NUL
            V2SIG[:11] + b"X" + b"\x21\x11\x00\x0c" + b"\x00" * 12,    # signature
            V2SIG + b"\x31\x11\x00\x0c" + b"\x00" * 12,                # version 3
            V2SIG + b"\x22\x11\x00\x0c" + b"\x00" * 12,                # command 2
            V2SIG + b"\x21\x11\x00\x08" + b"\x00" * 8,                 # short TCP4
            V2SIG + b"\x21\x21\x00\x0c" + b"\x00" * 12,                # short TCP6
            V2SIG + b"\x21\x12\x00\x0c" + b"\x00" * 12,                # UDP
            V2SIG + b"\x21\x11\x08\x00" + b"\x00" * 12,                # 2048 octets
            b"PROXY TCP4 192.0.2.7 127.0.0.1",                          # then EOF
        ]
        for header in bad:
            c = self.raw(header)
            if header.endswith(b"127.0.0.1"):
                c.sock.shutdown(socket.SHUT_WR)
            self.assertTrue(shut(c), header)
            self.assertEqual(c.buf, b"", header)
        log = self.srv.read_log()
        self.assertEqual(len(re.findall(rb"PROXY header from 127\.0\.0\.1:\d+: ", log)),
                         len(bad), log)
        self.assertNotIn(b"killed by signal", log)
        c = self.raw(v2_tcp4("192.0.2.99", 40099))
        self.assertTrue(c.line().startswith("+OK"))

    def test_silent_client_is_dropped_after_the_header_timeout(self):
        c = self.raw(b"PRO")
        start = time.time()
        self.assertTrue(shut(c, timeout=10))
        self.assertGreater(time.time() - start, 3)
        self.wait_log(rb"PROXY header from 127\.0\.0\.1:\d+: no header in time")


class PlainListener(unittest.TestCase):
    def test_a_listener_without_proxy_takes_the_header_as_a_bad_command(self):
        with Server(mbox={"alice": mbox_from([MSG])}) as s:
            c = s.connect()
            self.assertTrue(c.line().startswith("+OK"))
            self.assertTrue(c.cmd("PROXY TCP4 192.0.2.7 127.0.0.1 40001 110")
                            .startswith("-ERR"))
            self.assertTrue(c.cmd("USER alice").startswith("+OK"))
            self.assertTrue(c.cmd("PASS wonderland").startswith("+OK"))
            self.assertNotIn(b"192.0.2.7:40001", s.read_log())


class RealHAProxy(ProxyServer):
    """HAProxy from Debian, unprivileged in the foreground, on loopback."""

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="po-haproxy-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.v1, self.v2p, self.v6 = free_port(), free_port(), free_port()
        self.pop2 = free_port()
        conf = os.path.join(self.dir, "haproxy.cfg")
        text = ("global\n    maxconn 100\ndefaults\n    mode tcp\n"
                "    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n")
        # name: (frontend address, postoffice port, what HAProxy sends)
        for name, (bind, port, send) in {
                "v1": ("127.0.0.1:%d" % self.v1, self.ports["pop3"], "send-proxy"),
                "v2": ("127.0.0.1:%d" % self.v2p, self.ports["pop3"], "send-proxy-v2"),
                "v6": ("[::1]:%d" % self.v6, self.ports["pop3"], "send-proxy"),
                "pop2": ("127.0.0.1:%d" % self.pop2, self.ports["pop2"], "send-proxy-v2"),
        }.items():
            text += ("frontend %s\n    bind %s\n    default_backend %s\n"
                     "backend %s\n    server po 127.0.0.1:%d %s\n"
                     % (name, bind, name, name, port, send))
        with open(conf, "w") as f:
            f.write(text)
        self.haproxy = subprocess.Popen(["haproxy", "-db", "-f", conf],
                                        stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        self.addCleanup(self.stop_haproxy)
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.pop2), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or self.haproxy.poll() is not None:
                    self.fail("haproxy did not start: %r" % self.haproxy.stderr.read())
                time.sleep(0.1)

    def stop_haproxy(self):
        self.haproxy.terminate()
        self.haproxy.wait(timeout=10)
        self.haproxy.stderr.close()

    def fetch_with_poplib(self, host, port):
        p = poplib.POP3(host, port, timeout=10)
        local = p.sock.getsockname()
        p.user("alice")
        p.pass_("wonderland")
        self.assertEqual(p.stat(), (1, len(MSG) + 3))
        resp, lines, _ = p.retr(1)
        self.assertIn(b"hello", lines)
        p.quit()
        return local

    def test_send_proxy_v1_and_v2_log_the_real_client(self):
        for port in (self.v1, self.v2p):
            local = self.fetch_with_poplib("127.0.0.1", port)
            m = self.wait_log(rb"PROXY: client 127\.0\.0\.1:%d via 127\.0\.0\.1:(\d+)\n"
                              % local[1])
            # The connection itself came from HAProxy's own port.
            self.assertNotEqual(int(m.group(1)), local[1])
            self.wait_log(rb"pop3 127\.0\.0\.1:%d: end: user=alice retrieved=1" % local[1])

    def test_an_ipv6_client_through_an_ipv4_backend(self):
        local = self.fetch_with_poplib("::1", self.v6)
        self.wait_log(rb"PROXY: client \[::1\]:%d via 127\.0\.0\.1:\d+\n" % local[1])

    def test_pop2_through_send_proxy_v2(self):
        c = Conn(socket.create_connection(("127.0.0.1", self.pop2), timeout=10))
        self.addCleanup(c.close)
        local = c.sock.getsockname()[1]
        self.assertTrue(c.line().startswith("+ POP2"))
        self.assertEqual(c.cmd("HELO alice wonderland"), "#1 messages")
        c.cmd("QUIT")
        self.wait_log(rb"pop2 127\.0\.0\.1:%d: end: user=alice" % local)
