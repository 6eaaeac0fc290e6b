"""systemd socket activation (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES),
driven by systemd's own systemd-socket-activate."""
import os
import re
import select
import signal
import socket
import subprocess
import time
import unittest

from harness import BINARY, Conn, Server, mbox_from
from test_ops_proxy import free_port

MSG = b"Subject: activated\n\nhello\n"


class SocketActivation(unittest.TestCase):
    def setUp(self):
        self.srv = Server(mbox={"alice": mbox_from([MSG])})
        self.addCleanup(self.srv.cleanup)
        self.log = b""

    def activate(self, sockets, extra=()):
        """sockets: [(port, name or None)]; starts postoffice under
        systemd-socket-activate and returns once it is listening there."""
        args = ["systemd-socket-activate"] + list(extra)
        for port, name in sockets:
            args += ["-l", "127.0.0.1:%d" % port]
            if name:
                args.append("--fdname=" + name)
        args += [BINARY, "serve", "-c", self.srv.config]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.addCleanup(self.stop)
        self.wait_for(b"Listening on 127.0.0.1:%d" % sockets[-1][0])

    def wait_for(self, what, timeout=10):
        deadline = time.time() + timeout
        while what not in self.log and time.time() < deadline:
            r, _, _ = select.select([self.proc.stderr], [], [], 0.2)
            if r:
                chunk = os.read(self.proc.stderr.fileno(), 65536)
                if not chunk:
                    break
                self.log += chunk
        self.assertIn(what, self.log)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)
        self.proc.stderr.close()

    def connect(self, port):
        c = Conn(socket.create_connection(("127.0.0.1", port), timeout=10))
        self.addCleanup(c.close)
        return c

    def test_named_sockets_pick_their_protocol_and_replace_listen_lines(self):
        p3, p2, px, pu = free_port(), free_port(), free_port(), free_port()
        self.activate([(p3, "pop3"), (p2, "pop2"), (px, "pop3-proxy"), (pu, "other")])
        # systemd-socket-activate starts the service at the first connection.
        c = self.connect(p3)
        self.assertTrue(c.line().startswith("+OK"))
        self.wait_for(b"postoffice ready")
        self.assertIn(b"socket activation: 4 sockets from systemd; listen lines not used",
                      self.log)
        listening = re.findall(rb"listening (pop3|pop2) 127\.0\.0\.1:(\d+)( proxy)?\n",
                               self.log)
        self.assertEqual(listening, [(b"pop3", b"%d" % p3, b""), (b"pop2", b"%d" % p2, b""),
                                     (b"pop3", b"%d" % px, b" proxy"),
                                     (b"pop3", b"%d" % pu, b"")])
        self.assertTrue(c.cmd("USER alice").startswith("+OK"))
        self.assertTrue(c.cmd("PASS wonderland").startswith("+OK"))
        self.assertEqual(c.cmd("STAT"), "+OK 1 %d" % (len(MSG) + 3))
        self.assertTrue(self.connect(p2).line().startswith("+ POP2"))
        x = self.connect(px)
        x.send("PROXY TCP4 192.0.2.8 127.0.0.1 40008 110\r\n")
        self.assertTrue(x.line().startswith("+OK"))
        self.assertTrue(self.connect(pu).line().startswith("+OK"))
        self.wait_for(b"PROXY: client 192.0.2.8:40008")
        # SIGTERM still stops it cleanly.
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(timeout=10), 0)

    def test_unnamed_sockets_serve_pop3(self):
        port = free_port()
        self.activate([(port, None)])
        self.assertTrue(self.connect(port).line().startswith("+OK"))
        self.wait_for(b"socket activation: 1 socket from systemd")

    def test_accept_yes_is_refused_with_a_reason(self):
        port = free_port()
        self.activate([(port, "pop3")], extra=["--accept"])
        c = self.connect(port)
        with self.assertRaises(EOFError):
            c.line()
        self.wait_for(b"Accept=yes is not supported")

    def test_variables_for_another_process_are_ignored(self):
        env = dict(os.environ, LISTEN_PID="1", LISTEN_FDS="1", LISTEN_FDNAMES="pop2")
        p = subprocess.Popen([BINARY, "serve", "-c", self.srv.config], env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        self.proc = p
        self.addCleanup(self.stop)
        self.wait_for(b"postoffice ready")
        self.assertNotIn(b"socket activation", self.log)
        self.assertEqual(len(re.findall(rb"listening pop[23] 127\.0\.0\.1:\d+\n", self.log)), 2)
