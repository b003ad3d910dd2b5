// docker-compose.yml cannot be run here (no Docker engine, no compose plugin), so this test reads it as data:
// every file it references exists, every Stirgate config validates with the real schema, and every address
// and port agrees across compose, deploy/ and grafana/.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/index.js';
import type { Config } from '../../src/config/types.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Service {
  build?: string | { context: string; dockerfile?: string };
  image?: string;
  command?: string[] | string;
  entrypoint?: string[];
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  networks?: Record<string, { ipv4_address?: string } | null>;
  healthcheck?: { test: string[] };
}

interface Compose {
  services: Record<string, Service>;
  networks: Record<string, { ipam: { config: { subnet: string }[] } }>;
  volumes: Record<string, unknown>;
}

function read(path: string): string {
  return readFileSync(`${ROOT}${path}`, 'utf8');
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as Compose;
const services = compose.services;

function mounts(s: Service): { source: string; target: string; bind: boolean }[] {
  return (s.volumes ?? []).map((v) => {
    const [source, target] = v.split(':') as [string, string];
    return { source, target, bind: source.startsWith('./') || source.startsWith('/') };
  });
}

/** The host file behind a container path, through the service's bind mounts (undefined if not bind-mounted). */
function hostPath(s: Service, containerPath: string): string | undefined {
  for (const m of mounts(s)) {
    if (!m.bind) continue;
    if (containerPath === m.target) return m.source;
    if (containerPath.startsWith(`${m.target}/`)) return `${m.source}${containerPath.slice(m.target.length)}`;
  }
  return undefined;
}

function ipOf(name: string): string {
  const ip = Object.values(services[name]?.networks ?? {})[0]?.ipv4_address;
  if (ip === undefined) throw new Error(`service ${name} has no fixed address`);
  return ip;
}

function serviceAt(ip: string): string | undefined {
  return Object.keys(services).find(
    (n) => Object.values(services[n]!.networks ?? {})[0]?.ipv4_address === ip,
  );
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/') as [string, string];
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipv4ToInt(ip) / size) === Math.floor(ipv4ToInt(base) / size);
}

function args(s: Service): string[] {
  return Array.isArray(s.command) ? s.command : [];
}

function argAfter(s: Service, flag: string): string | undefined {
  const a = args(s);
  const i = a.indexOf(flag);
  return i >= 0 ? a[i + 1] : undefined;
}

/** Stirgate services: those running the stirgate image with a config mounted at /etc/stirgate/stirgate.yaml. */
const stirgates = new Map<string, Config>();
for (const [name, s] of Object.entries(services)) {
  const file = hostPath(s, '/etc/stirgate/stirgate.yaml');
  if (file !== undefined) stirgates.set(name, parseConfig(read(file.slice(2)), file, { version: 'test' }));
}
const sipps = Object.entries(services).filter(([, s]) => args(s).includes('-sf'));

/** UDP SIP port a service listens on: Stirgate's listen entry, SIPp's -p. */
function sipPort(name: string): number | undefined {
  const c = stirgates.get(name);
  if (c) return c.listen.find((l) => l.transport === 'udp')?.port;
  const p = argAfter(services[name]!, '-p');
  return p === undefined ? undefined : Number(p);
}

describe('docker-compose.yml', () => {
  it('has the chain: SIPp UAC, signing and verifying Stirgate, SIPp UAS, x5u server, Prometheus, Grafana', () => {
    expect([...stirgates.keys()].sort()).toEqual(['stirgate-signer', 'stirgate-verifier']);
    expect(sipps.map(([n]) => n).sort()).toEqual(['uac', 'uas']);
    for (const name of ['x5u', 'prometheus', 'grafana', 'pki-init'])
      expect(services[name], name).toBeDefined();
    const roles = (n: string) => stirgates.get(n)!.trunks.map((t) => t.role);
    expect(roles('stirgate-signer')).toEqual(['originating']);
    expect(roles('stirgate-verifier')).toEqual(['terminating']);
  });

  it('references only files and folders that exist', () => {
    const missing: string[] = [];
    const check = (what: string, path: string, kind: 'file' | 'dir' | 'any' = 'any') => {
      const full = `${ROOT}${path.replace(/^\.\//, '')}`;
      if (!existsSync(full)) missing.push(`${what}: ${path}`);
      else if (kind === 'file' && !statSync(full).isFile()) missing.push(`${what}: ${path} is not a file`);
      else if (kind === 'dir' && !statSync(full).isDirectory())
        missing.push(`${what}: ${path} is not a folder`);
    };
    for (const [name, s] of Object.entries(services)) {
      if (s.build !== undefined) {
        const context = typeof s.build === 'string' ? s.build : s.build.context;
        const dockerfile = typeof s.build === 'string' ? 'Dockerfile' : (s.build.dockerfile ?? 'Dockerfile');
        check(`${name} build context`, context, 'dir');
        check(`${name} Dockerfile`, `${context}/${dockerfile}`, 'file');
      }
      for (const m of mounts(s)) {
        if (m.bind) check(`${name} volume`, m.source);
        else expect(compose.volumes, `${name}: named volume ${m.source}`).toHaveProperty(m.source);
      }
      // Container paths in the command that come from a bind mount (SIPp scenarios).
      for (const a of args(s)) {
        if (!a.startsWith('/')) continue;
        const host = hostPath(s, a);
        if (host !== undefined) check(`${name} command`, host, 'file');
      }
      for (const dep of Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {})) {
        if (services[dep] === undefined) missing.push(`${name} depends_on unknown service ${dep}`);
      }
    }
    // What the Dockerfile copies from the build context.
    for (const m of read('Dockerfile').matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const src of m[1]!.split(/\s+/)) check('Dockerfile COPY', src);
    }
    expect(missing).toEqual([]);
  });

  it('gives every SIP party a unique address inside the network', () => {
    const subnet = compose.networks.stirnet!.ipam.config[0]!.subnet;
    const ips = Object.keys(services)
      .map((n) => Object.values(services[n]!.networks ?? {})[0]?.ipv4_address)
      .filter((ip): ip is string => ip !== undefined);
    expect(new Set(ips).size).toBe(ips.length);
    for (const ip of ips) expect(inCidr(ip, subnet), ip).toBe(true);
  });

  it('routes SIP UAC -> signer -> verifier -> UAS with matching addresses, ports and trunk sources', () => {
    // UAC sends to the signer.
    const uac = services.uac!;
    const [host, port] = args(uac)[0]!.split(':') as [string, string];
    expect(serviceAt(host)).toBe('stirgate-signer');
    expect(Number(port)).toBe(sipPort('stirgate-signer'));
    expect(argAfter(uac, '-i')).toBe(ipOf('uac'));
    expect(argAfter(services.uas!, '-i')).toBe(ipOf('uas'));

    const hop = (from: string, to: string) => {
      const c = stirgates.get(from)!;
      const route = c.routes.find((r) => r.name === c.trunks[0]!.route)!;
      const next = route.nextHops[0]!;
      expect(serviceAt(next.address), `${from} next hop`).toBe(to);
      expect(next.port, `${from} next hop port`).toBe(sipPort(to));
    };
    hop('stirgate-signer', 'stirgate-verifier');
    hop('stirgate-verifier', 'uas');

    // Each element's trunk matches the party that sends to it.
    const sources = (n: string) => stirgates.get(n)!.trunks[0]!.match.sources;
    expect(sources('stirgate-signer').some((c) => inCidr(ipOf('uac'), c))).toBe(true);
    expect(sources('stirgate-verifier').some((c) => inCidr(ipOf('stirgate-signer'), c))).toBe(true);
    // The caller's number belongs to the signer's customer (attestation A).
    const numbers = stirgates.get('stirgate-signer')!.customers[0]!.numbers;
    expect(numbers.some((n) => n.kind === 'prefix' && '12025550100'.startsWith(n.prefix))).toBe(true);
  });

  it('serves the signer x5u URL from the x5u service, and the verifier policy admits it', () => {
    const signer = stirgates.get('stirgate-signer')!;
    const verifier = stirgates.get('stirgate-verifier')!;
    const url = new URL(signer.stir.signing!.x5uUrl);
    expect(services[url.hostname], url.hostname).toBeDefined();
    const nginx = read(hostPath(services[url.hostname]!, '/etc/nginx/conf.d/default.conf')!.slice(2));
    expect(nginx).toMatch(new RegExp(`listen ${url.port};`));
    expect(nginx).toContain(`location = ${url.pathname}`);
    // The file nginx serves is the chain the signer signs with (same pki volume).
    const served = /alias (\S+);/.exec(nginx)![1]!;
    expect(served).toBe(signer.stir.signing!.certificateFile);
    const x = verifier.stir.verification.x5u;
    expect(x.allowedPorts).toContain(Number(url.port));
    expect(x.allowHttp).toBe(url.protocol === 'http:');
    expect(x.allowCidrs.some((c) => inCidr(ipOf(url.hostname), c))).toBe(true);
    // Credentials and trust roots live on the pki volume that pki-init fills.
    const pkiInit = services['pki-init']!;
    const script = args(pkiInit).join(' ');
    for (const [name, path] of [
      ['stirgate-signer', signer.stir.signing!.privateKeyFile],
      ['stirgate-signer', signer.stir.signing!.certificateFile],
      ['stirgate-verifier', verifier.stir.verification.trustRootsDir!],
      [url.hostname, served],
    ] as const) {
      expect(
        mounts(services[name]!).some((m) => m.source === 'pki' && path.startsWith(`${m.target}/`)),
        path,
      ).toBe(true);
      expect(script, `pki-init writes ${path}`).toContain(path.split('/').slice(0, 3).join('/'));
    }
    expect(mounts(pkiInit).some((m) => m.source === 'pki' && m.target === '/pki')).toBe(true);
  });

  it('scrapes each element on its metrics port, and Grafana reads that Prometheus', () => {
    const promService = services.prometheus!;
    const promConfig = parse(read(hostPath(promService, '/etc/prometheus/prometheus.yml')!.slice(2))) as {
      scrape_configs: { static_configs: { targets: string[] }[] }[];
    };
    const targets = promConfig.scrape_configs.flatMap((s) => s.static_configs.flatMap((c) => c.targets));
    expect(targets.map((t) => t.split(':')[0]).sort()).toEqual([...stirgates.keys()].sort());
    for (const t of targets) {
      const [name, port] = t.split(':') as [string, string];
      const listen = stirgates.get(name)!.metrics.listen;
      expect(listen, `${name} metrics.listen`).toBeDefined();
      expect(listen!.port, name).toBe(Number(port));
      expect(listen!.address, `${name} metrics must listen beyond loopback`).toBe('0.0.0.0');
      expect(services[name]!.healthcheck!.test.join(' '), `${name} healthcheck`).toContain(
        `:${port}/healthz`,
      );
    }
    const promPort = /--web\.listen-address=[^:]*:(\d+)/.exec(args(promService).join(' '))![1]!;
    expect(promService.ports).toContain(`127.0.0.1:${promPort}:${promPort}`);
    const ds = parse(read('grafana/provisioning/datasources/prometheus.yml')) as {
      datasources: { url: string }[];
    };
    expect(ds.datasources[0]!.url).toBe(`http://prometheus:${promPort}`);
    expect(services.grafana!.ports).toContain('127.0.0.1:3000:3000');
    // The Dockerfile exposes the ports the configs use.
    const dockerfile = read('Dockerfile');
    for (const c of stirgates.values()) {
      for (const l of c.listen) expect(dockerfile).toContain(`${l.port}/${l.transport}`);
      expect(dockerfile).toContain(`${c.metrics.listen!.port}/tcp`);
    }
  });
});
