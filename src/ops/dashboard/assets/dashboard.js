// redge's admin dashboard. It follows the admin event stream (/events):
// one JSON snapshot a second, one member per panel. It keeps the last
// HISTORY snapshots for the small graphs. Every value from the snapshot
// reaches the page as text (textContent, attribute values): nothing is
// parsed as HTML, so a flag description or an instance name holding markup
// shows as that markup.
'use strict';

const HISTORY = 120;
const history = [];

// ---------------------------------------------------------------- helpers

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  return e;
}

function fmt(v, digits = 1) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(digits) + 'M';
  if (Math.abs(v) >= 1e4) return (v / 1e3).toFixed(digits) + 'k';
  return Number.isInteger(v) ? String(v) : v.toFixed(digits);
}

function pct(v) {
  return v === null || v === undefined ? '–' : (v * 100).toFixed(1) + '%';
}

function bytes(v) {
  if (v === null || v === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return v.toFixed(i ? 1 : 0) + ' ' + units[i];
}

function duration(s) {
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min';
  if (s < 86400) return (s / 3600).toFixed(1) + ' h';
  return (s / 86400).toFixed(1) + ' d';
}

// A small line graph of what `pick` reads from each snapshot kept.
function sparkline(pick) {
  const values = history.map((snap) => {
    try { return pick(snap); } catch (e) { return null; }
  });
  const w = 110, h = 24;
  const g = svg('svg', { class: 'spark', viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: 'none' });
  const nums = values.filter((v) => typeof v === 'number' && Number.isFinite(v));
  if (nums.length < 2) return g;
  const max = Math.max(...nums), min = Math.min(0, ...nums);
  const span = max - min || 1;
  // Right-aligned; the first seconds are spread over 20 points, not drawn
  // as a speck at the end of the full history's width.
  const slots = Math.max(values.length, 20);
  const step = w / (slots - 1);
  const off = slots - values.length;
  const pts = [];
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return;
    pts.push(((off + i) * step).toFixed(1) + ',' + (h - 1 - ((v - min) / span) * (h - 2)).toFixed(1));
  });
  g.append(svg('polyline', { points: pts.join(' ') }));
  const title = svg('title', {});
  title.textContent = 'last ' + fmt(nums[nums.length - 1], 2) + ', max ' + fmt(max, 2);
  g.append(title);
  return g;
}

function bar(fraction) {
  const g = svg('svg', { class: 'bar', viewBox: '0 0 100 10', preserveAspectRatio: 'none' });
  g.append(svg('rect', { class: 'bg', x: 0, y: 0, width: 100, height: 10 }));
  const f = Math.max(0, Math.min(1, fraction || 0));
  g.append(svg('rect', { class: 'fg', x: 0, y: 0, width: (f * 100).toFixed(1), height: 10 }));
  return g;
}

function kv(pairs) {
  const dl = el('dl', { class: 'kv' });
  for (const [k, v, cls] of pairs) {
    dl.append(el('dt', {}, k));
    dl.append(v instanceof Node ? el('dd', {}, v) : el('dd', cls ? { class: cls } : {}, v));
  }
  return dl;
}

function table(headers, rows) {
  const t = el('table');
  t.append(el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', {}, h)))));
  const body = el('tbody');
  for (const r of rows) body.append(r);
  t.append(body);
  return t;
}

function empty(text) {
  return el('p', { class: 'dim' }, text);
}

// ---------------------------------------------------------------- panels
// One function per snapshot member: (value, snapshot) -> nodes. A module
// that adds a panel in redge adds one entry here; members without one are
// shown as JSON.

const panels = {
  process: {
    title: 'Process',
    render(p) {
      return [kv([
        ['version', p.version],
        ['pid', p.pid],
        ['uptime', duration(p.uptime_s)],
        ['CPU', el('span', {}, pct(p.cpu), ' ', sparkline((s) => s.process.cpu))],
        ['RSS', el('span', {}, bytes(p.rss_bytes), ' ', sparkline((s) => s.process.rss_bytes))],
        ['open fds', p.open_fds],
        ['Redis', p.redis, p.redis === 'up' ? 'ok' : 'bad'],
      ])];
    },
  },
  services: {
    title: 'Services',
    wide: true,
    render(svc) {
      const names = Object.keys(svc).sort();
      if (!names.length) return [empty('no HTTP traffic yet')];
      return [table(['service', 'requests', 'req/s', '', '5xx ratio', '', 'p99', ''], names.map((n) => {
        const s = svc[n];
        return el('tr', { 'data-service': n },
          el('td', {}, n),
          el('td', { class: 'num' }, fmt(s.requests, 0)),
          el('td', { class: 'num' }, fmt(s.rps)),
          el('td', {}, sparkline((h) => h.services[n].rps)),
          el('td', { class: 'num' + (s.error_ratio > 0.01 ? ' bad' : '') }, pct(s.error_ratio)),
          el('td', {}, sparkline((h) => h.services[n].error_ratio)),
          el('td', { class: 'num' }, s.p99_ms === null ? '–' : fmt(s.p99_ms, 2) + ' ms'),
          el('td', {}, sparkline((h) => h.services[n].p99_ms)));
      }))];
    },
  },
  cache: {
    title: 'Cache proxy',
    render(c) {
      if (c === null) return [empty('the cache proxy is not running here')];
      return [kv([
        ['hit ratio (10 s)', el('span', {}, pct(c.hit_ratio), ' ', sparkline((s) => s.cache.hit_ratio))],
        ['hit ratio (all)', pct(c.hit_ratio_total)],
        ['hits / misses', fmt(c.hits, 0) + ' / ' + fmt(c.misses, 0)],
        ['entries', fmt(c.entries, 0)],
        ['bytes', bytes(c.bytes)],
      ])];
    },
  },
  relay: {
    title: 'Relay',
    render(r) {
      if (r === null) return [empty('the relay is not running here')];
      const breakerClass = r.breaker === 'closed' ? 'ok' : r.breaker === 'open' ? 'bad' : 'warn';
      return [kv([
        ['queue depth', el('span', {}, fmt(r.queue_depth, 0), ' ', sparkline((s) => s.relay.queue_depth))],
        ['in flight', fmt(r.inflight, 0)],
        ['gate', el('span', { id: 'relay-gate', class: r.gate === 'open' ? 'ok' : 'bad' }, r.gate)],
        ['breaker', el('span', { id: 'relay-breaker', class: breakerClass }, r.breaker)],
        ['sent / failed', fmt(r.sent, 0) + ' / ' + fmt(r.failed, 0)],
      ])];
    },
  },
  flags: {
    title: 'Feature flags',
    wide: true,
    render(f) {
      const head = el('p', { class: 'dim' }, `${f.count} flags, version ${f.version}`,
        f.stale ? ' (stale: not following Redis)' : '');
      if (!f.items.length) return [head];
      return [head, table(['flag', 'state', 'rollout', 'variants', 'description'], f.items.map((x) =>
        el('tr', { 'data-flag': x.name, 'data-enabled': x.enabled },
          el('td', {}, x.name),
          el('td', { class: x.enabled ? 'ok' : 'dim' }, x.enabled ? 'on' : 'off'),
          el('td', { class: 'num' }, fmt(x.rollout) + '%'),
          el('td', {}, x.variants.map((v) => v.name + ':' + v.weight).join(' ')),
          el('td', {}, x.description))))];
    },
  },
  canary: {
    title: 'Canary weights',
    render(pools) {
      if (!pools.length) return [empty('no canary.<pool> flags')];
      return [table(['pool', 'canary', '', 'set by', 'promoted'], pools.map((p) =>
        el('tr', { class: p.enabled ? '' : 'dim' },
          el('td', {}, p.pool),
          el('td', { class: 'num' }, p.enabled ? pct(p.weight / 100) : 'off'),
          el('td', {}, bar(p.weight / 100)),
          el('td', {}, p.updated_by),
          el('td', { class: 'num' }, p.promoted))))];
    },
  },
  instances: {
    title: 'Instances',
    wide: true,
    render(r) {
      const head = el('p', { class: 'dim' }, `${r.count} registered`, r.stale ? ' (stale)' : '');
      if (!r.items.length) return [head];
      return [head, table(['id', 'service', 'address', 'version', 'health', 'in flight', 'heartbeat'],
        r.items.map((i) => el('tr', { 'data-instance': i.id },
          el('td', {}, i.id), el('td', {}, i.service), el('td', {}, i.address),
          el('td', {}, i.version),
          el('td', { class: i.health === 'healthy' ? 'ok' : i.health ? 'bad' : 'dim' }, i.health || '–'),
          el('td', { class: 'num' }, i.inflight === null ? '–' : i.inflight),
          el('td', { class: 'num' }, i.heartbeat_age_ms < 0 ? '–' : (i.heartbeat_age_ms / 1000).toFixed(1) + ' s ago'))))];
    },
  },
  gateway: {
    title: 'Gateway pools',
    wide: true,
    render(pools) {
      if (!pools.length) return [empty('no pool')];
      const rows = [];
      for (const p of pools) {
        const label = p.side ? `${p.pool} (${p.side})` : p.pool;
        const weight = p.canary_weight === undefined ? '' : ` canary ${pct(p.canary_weight / 100)}`;
        if (!p.members.length) {
          rows.push(el('tr', {}, el('td', {}, label + weight), el('td', { class: 'dim' }, 'no member'),
            el('td', {}), el('td', {}), el('td', {})));
        }
        for (const m of p.members) {
          rows.push(el('tr', { 'data-member': m.name },
            el('td', {}, label + weight), el('td', {}, m.name),
            el('td', { class: m.health === 'healthy' ? 'ok' : 'bad' }, m.health),
            el('td', { class: 'num' }, m.inflight), el('td', { class: 'num' }, fmt(m.requests, 0))));
        }
      }
      return [table(['pool', 'member', 'health', 'in flight', 'requests'], rows)];
    },
  },
  alerts: {
    title: 'Alerts',
    render(a) {
      const firing = a.active.filter((x) => x.state === 'firing').length;
      const head = el('p', { class: firing ? 'bad' : 'ok' },
        firing ? `${firing} firing` : 'nothing firing', ` (${a.rules} rules)`);
      if (!a.active.length) return [head];
      return [head, table(['rule', 'state', 'value', 'severity', 'summary'], a.active.map((x) =>
        el('tr', { 'data-alert': x.name },
          el('td', {}, x.name),
          el('td', { class: x.state === 'firing' ? 'bad' : 'warn' }, x.state),
          el('td', { class: 'num' }, fmt(x.value, 3)),
          el('td', {}, x.severity),
          el('td', {}, x.summary))))];
    },
  },
};

// ---------------------------------------------------------------- page

const sections = new Map();

function sectionFor(name) {
  let s = sections.get(name);
  if (!s) {
    const def = panels[name];
    s = el('section', { 'data-panel': name, class: def && def.wide ? 'wide' : '' });
    s.append(el('h2', {}, def ? def.title : name), el('div', { class: 'body' }));
    document.getElementById('panels').append(s);
    sections.set(name, s);
  }
  return s;
}

function render(snap) {
  for (const [name, value] of Object.entries(snap)) {
    if (name === 'seq' || name === 't') continue;
    const s = sectionFor(name);
    const def = panels[name];
    let nodes;
    try {
      nodes = def ? def.render(value, snap) : [el('pre', {}, JSON.stringify(value, null, 1))];
    } catch (e) {
      nodes = [el('pre', { class: 'bad' }, 'cannot show this panel: ' + e.message)];
    }
    s.querySelector('.body').replaceChildren(...nodes);
    s.dataset.filled = 'true';
  }
  const p = snap.process;
  document.getElementById('summary').textContent =
    (p ? `redge ${p.version}, pid ${p.pid}, ` : '') + 'updated ' + new Date(snap.t).toLocaleTimeString();
  document.body.dataset.seq = String(snap.seq);
}

function setStatus(state, text) {
  const s = document.getElementById('status');
  s.dataset.state = state;
  s.textContent = text;
}

function connect() {
  const source = new EventSource('/events');
  source.onopen = () => setStatus('live', 'live');
  source.onerror = () => setStatus('lost', 'reconnecting');
  source.onmessage = (ev) => {
    let snap;
    try { snap = JSON.parse(ev.data); } catch (e) { return; }
    history.push(snap);
    if (history.length > HISTORY) history.shift();
    render(snap);
  };
}

connect();
