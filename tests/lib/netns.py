"""Network namespaces for the real-client tests (realbt, realsmtp): a
subscriber namespace and an outside network joined through a router
namespace, whose subscriber-side interface is where spanwatch captures, as
on a SPAN port. Only 198.18.0.0/15 addresses: the subscriber side is
198.18.1.0/24, the outside 198.19.0.0/24. Names carry the process id, so
two runs never meet. Needs root."""
import os
import subprocess
import time


def sh(*args, **kw):
    """Runs a command; its output, or RuntimeError naming it and its exit."""
    r = subprocess.run(list(args), capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(args), r.returncode, (r.stdout + r.stderr).strip()))
    return r


def nsx(ns, *args):
    """The command line that runs args in namespace ns."""
    return ["ip", "netns", "exec", ns] + list(args)


class Topology:
    """sub (IF_S) --veth-- (IF_R) rtr (IF_U) --veth-- (IF_N) net"""

    def __init__(self, prefix):
        self.tag = "%s%d" % (prefix, os.getpid() % 100000)
        self.sub, self.rtr, self.net = self.tag + "sub", self.tag + "rtr", self.tag + "net"
        self.if_s, self.if_r, self.if_u, self.if_n = (self.tag + x for x in "srun")

    def setup(self, sub_addrs, net_addrs):
        """The three namespaces, IPv4 only (the kernel's own ND/MLD
        chatter stays off the wire), sub_addrs on the subscriber side,
        net_addrs outside, routed through the router."""
        for ns in (self.sub, self.rtr, self.net):
            sh("ip", "netns", "add", ns)
            sh(*nsx(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"))
            sh(*nsx(ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"))
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", self.if_s, "netns", self.sub, "type", "veth", "peer", "name", self.if_r,
           "netns", self.rtr)
        sh("ip", "link", "add", self.if_n, "netns", self.net, "type", "veth", "peer", "name", self.if_u,
           "netns", self.rtr)
        sh(*nsx(self.rtr, "sysctl", "-qw", "net.ipv4.ip_forward=1"))
        for ns, dev, addrs in ((self.sub, self.if_s, list(sub_addrs)), (self.rtr, self.if_r, ["198.18.1.254"]),
                               (self.rtr, self.if_u, ["198.19.0.254"]), (self.net, self.if_n, list(net_addrs))):
            for a in addrs:
                sh("ip", "-n", ns, "addr", "add", a + "/24", "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", self.sub, "route", "add", "198.19.0.0/24", "via", "198.18.1.254")
        sh("ip", "-n", self.net, "route", "add", "198.18.1.0/24", "via", "198.19.0.254")

    def teardown(self):
        for ns in (self.sub, self.rtr, self.net):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    def wait_capturing(self, pids, seconds=20):
        """Waits until every process in pids has a packet socket open in
        the router namespace (spanwatch prints nothing when its capture is
        open). Returns True, or False after seconds."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            out = subprocess.run(nsx(self.rtr, "ss", "-0", "-n", "-p"), capture_output=True, text=True).stdout
            if all("pid=%d," % p in out for p in pids):
                time.sleep(0.3)     # from socket() to the ring set up
                return True
            time.sleep(0.1)
        return False
