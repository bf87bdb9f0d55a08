// Every process a test spawns talks to loopback servers only, so it needs no extra CA bundle;
// loading one (NODE_EXTRA_CA_CERTS, set on some machines) costs each node start tens of ms.
delete process.env.NODE_EXTRA_CA_CERTS;
