// Self-test for kube-stream.mjs: a fake CRI streaming server in node (HTTP
// upgrade, then spdy-transport in server mode) serves a fake exec and a fake
// port-forward, and the client runs against it as a child process.
// Run: node selftest.mjs (exit 0 when every case passes).
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import transport from 'spdy-transport'

const CLIENT = fileURLToPath(new URL('kube-stream.mjs', import.meta.url))
const SUPPORTED = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io', 'portforward.k8s.io']

// ---- fake streaming server ----

const sessions = new Map() // token -> what the server saw, for assertions
const sockets = new Set()

// The Kubernetes streaming library (spdystream) replies with an empty header
// block; spdy-transport's respond() always adds :status and :version.
function replyBare (stream) {
  const framer = stream.connection._spdyState.framer
  stream._hardCork() // keep DATA behind the reply, as respond() does
  framer.headersToDict({}, null, (err, chunks) => {
    if (err) throw err
    framer._frame({ type: 'SYN_REPLY', id: stream.id, flags: 0 }, buf => {
      buf.reserve(4)
      buf.writeUInt32BE(stream.id & 0x7fffffff)
      for (const c of chunks) buf.copyFrom(c)
    }, () => stream._hardUncork())
  })
}

// Resolves once everything written so far has been handed to the socket.
const flushed = s => new Promise(resolve => s.write(Buffer.alloc(0), resolve))

function serveSpdy (socket, session) {
  // A 64 KiB window (the SPDY default; spdy-transport cannot go lower, it would
  // send a negative WINDOW_UPDATE) makes any stdin beyond 64 KiB depend on the
  // server's WINDOW_UPDATEs reaching the client.
  const conn = transport.connection.create(socket, {
    protocol: 'spdy', isServer: true, autoSpdy31: true, windowSize: 65536
  })
  conn.on('error', () => {})
  conn.on('frame', f => {
    if (f.type === 'WINDOW_UPDATE') session.windowUpdates[f.id === 0 ? 'session' : 'stream']++
    if (f.type === 'PING') session.pings.push(f.opaque.readUInt32BE(0))
    if (f.fin) session.clientFins.add(f.id)
  })
  const q = session.query
  const kubeletStyle = q.get('style') === 'kubelet'
  const streams = {}
  conn.on('stream', stream => {
    const type = stream.headers.streamtype
    session.streams.push({ id: stream.id, headers: stream.headers })
    stream.on('error', () => {})
    if (q.get('refuse') === type) return stream.abort('REFUSED_STREAM')
    if (kubeletStyle) replyBare(stream)
    else stream.respond(200, {})
    if (session.protocol === 'portforward.k8s.io') return portForward(stream, type)
    streams[type] = stream
    const want = ['error']
    if (q.get('stdin') === '1') want.push('stdin')
    if (q.get('stdout') === '1') want.push('stdout')
    if (q.get('stderr') === '1' && q.get('tty') !== '1') want.push('stderr')
    if (q.get('tty') === '1' && /^v[34]\./.test(session.protocol)) want.push('resize')
    if (want.every(t => streams[t])) fakeExec(conn, streams, session, kubeletStyle)
  })
}

// Echo stdin uppercased, say "err" on stderr, report resizes on stdout, then
// exit with the code in the URL.
function fakeExec (conn, { error, stdin, stdout, stderr, resize }, session, kubeletStyle) {
  const q = session.query
  if (q.get('hang') === '1') return
  let pending = (stdin ? 1 : 0) + Number(q.get('resizes') || 0)
  const done = () => { if (--pending === 0) finish() }
  if (stdin) {
    stdin.on('data', c => stdout?.write(c.toString('latin1').toUpperCase(), 'latin1'))
    stdin.on('end', done)
  }
  if (resize) {
    let buf = ''
    resize.on('data', c => {
      buf += c
      for (let i; (i = buf.indexOf('\n')) >= 0; buf = buf.slice(i + 1)) {
        const size = JSON.parse(buf.slice(0, i))
        stdout?.write(`resize ${size.Width}x${size.Height}\n`)
        done()
      }
    })
  }
  stderr?.write('err\n')
  if (pending === 0) finish()

  async function finish () {
    const code = Number(q.get('exit') || 0)
    const message = `command terminated with non-zero exit code: exit status ${code}`
    if (session.protocol === 'v4.channel.k8s.io') {
      error.write(JSON.stringify(code === 0
        ? { metadata: {}, status: 'Success' }
        : {
            metadata: {},
            status: 'Failure',
            message,
            reason: 'NonZeroExitCode',
            details: { causes: [{ reason: 'ExitCode', message: String(code) }] }
          }))
    } else if (code !== 0) {
      error.write(message) // v1-v3 carry the message as plain text
    }
    const outputs = [stdout, stderr, error].filter(Boolean)
    if (!kubeletStyle) return outputs.forEach(s => s.end())
    // The Kubernetes streaming library ends with its connection's Close():
    // RST_STREAM(CANCEL) on every stream, then GOAWAY, then the TCP close.
    await Promise.all(outputs.map(flushed))
    for (const s of [error, stdin, stdout, stderr, resize]) s?.abort()
    conn.end()
  }
}

// Echo the data stream; a port of 666 fails on the error stream instead.
function portForward (stream, type) {
  if (type === 'data') {
    if (stream.headers.port === '666') return stream.end()
    stream.pipe(stream)
  } else if (type === 'error') {
    stream.resume()
    if (stream.headers.port === '666') stream.write('error forwarding port 666: connection refused')
    stream.end()
  }
}

const server = http.createServer((req, res) => {
  res.writeHead(400, { 'Content-Type': 'text/plain' })
  res.end('upgrade required\n')
})
server.on('connection', s => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url, 'http://fake')
  const offered = []
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i].toLowerCase() === 'x-stream-protocol-version') offered.push(req.rawHeaders[i + 1])
  }
  const token = url.pathname.split('/')[2]
  const session = {
    method: req.method, headers: req.headers, offered, query: url.searchParams,
    protocol: null, streams: [], windowUpdates: { session: 0, stream: 0 }, clientFins: new Set(), pings: []
  }
  sessions.set(token, session)
  if (url.pathname.startsWith('/bad/')) {
    const body = 'session not found\n'
    socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
    return
  }
  session.protocol = SUPPORTED.find(p => offered.includes(p))
  const response = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n' +
    `X-Stream-Protocol-Version: ${session.protocol}\r\n\r\n`
  // ping=1: a SPDY/3 PING (id 2) in the same segment as the 101, which the
  // client must parse as SPDY, not as part of the HTTP answer.
  const ping = Buffer.from([0x80, 3, 0, 6, 0, 0, 0, 4, 0, 0, 0, 2])
  socket.write(url.searchParams.get('ping') === '1' ? Buffer.concat([Buffer.from(response), ping]) : response)
  if (head.length) socket.unshift(head)
  serveSpdy(socket, session)
})
await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
const base = `http://127.0.0.1:${server.address().port}`
after(() => {
  for (const s of sockets) s.destroy()
  server.close()
})

// ---- client runs ----

let tokens = 0
// A URL for one run, and the server's record of that run once it is over.
function endpoint (kind, query = '') {
  const token = `t${++tokens}`
  return { url: `${base}/${kind}/${token}${query ? '?' + query : ''}`, seen: () => sessions.get(token) }
}

function run (args, input = null) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLIENT, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    const out = []
    const err = []
    child.stdout.on('data', c => out.push(c))
    child.stderr.on('data', c => err.push(c))
    const killer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`client hung: ${args.join(' ')}`)) }, 30000)
    child.on('error', reject)
    child.on('close', code => {
      clearTimeout(killer)
      resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() })
    })
    child.stdin.on('error', () => {}) // the client may exit before reading it all
    child.stdin.end(input)
  })
}

const textOf = r => ({ code: r.code, stdout: r.stdout.toString(), stderr: r.stderr })

test('exec: stdio, stream order and headers, exit code 3 from a v4 Status', async () => {
  const ep = endpoint('exec', 'stdin=1&stdout=1&stderr=1&exit=3')
  const r = textOf(await run(['exec', ep.url, '--stdin'], 'hello\nworld\n'))
  assert.deepEqual(r, { code: 3, stdout: 'HELLO\nWORLD\n', stderr: 'err\n' })
  const seen = ep.seen()
  assert.equal(seen.method, 'POST')
  assert.equal(seen.headers.connection, 'Upgrade')
  assert.equal(seen.headers.upgrade, 'SPDY/3.1')
  assert.equal(seen.headers['content-length'], '0')
  assert.deepEqual(seen.offered, ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'])
  assert.deepEqual(seen.streams.map(s => s.headers.streamtype), ['error', 'stdin', 'stdout', 'stderr'])
  assert.deepEqual(seen.streams.map(s => s.id), [1, 3, 5, 7])
  // The client half-closes every stream it does not write to; stdin at EOF.
  assert.deepEqual([...seen.clientFins].sort(), [1, 3, 5, 7])
})

test('exec: a Success status exits 0; SPDY right behind the 101 is read as SPDY', async () => {
  const ep = endpoint('exec', 'stdin=1&stdout=1&stderr=1&exit=0&ping=1')
  const r = textOf(await run(['exec', ep.url, '--stdin'], 'abc'))
  assert.deepEqual(r, { code: 0, stdout: 'ABC', stderr: 'err\n' })
  assert.deepEqual(ep.seen().pings, [2], 'the client did not answer the PING')
})

test('exec: 640 KiB of stdin round-trips intact under flow control', async () => {
  const ep = endpoint('exec', 'stdin=1&stdout=1&exit=0')
  let input = ''
  for (let i = 0; input.length < 640 * 1024; i++) input += `line ${i} ${'abcdefghijklmnopqrstuvwxyz'.slice(i % 26)}\n`
  const r = await run(['exec', ep.url, '--stdin', '--no-stderr'], input)
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stdout.length, input.length)
  assert.ok(r.stdout.toString() === input.toUpperCase(), 'echoed stdin differs')
  // Past half the client's 1 MiB receive windows it replenishes them: one
  // session WINDOW_UPDATE at the start, more on the way, and per stream.
  const { session, stream } = ep.seen().windowUpdates
  assert.ok(session >= 2 && stream >= 1, `WINDOW_UPDATEs from the client: ${session} session, ${stream} stream`)
  assert.deepEqual(ep.seen().streams.map(s => s.headers.streamtype), ['error', 'stdin', 'stdout'])
})

test('exec --tty: resize messages arrive in order, no stderr stream', async () => {
  const ep = endpoint('exec', 'tty=1&stdout=1&stderr=1&resizes=2&exit=0')
  const r = textOf(await run(['exec', ep.url, '--tty', '--resize', '80,24', '--resize', '100,40']))
  assert.deepEqual(r, { code: 0, stdout: 'resize 80x24\nresize 100x40\n', stderr: '' })
  assert.deepEqual(ep.seen().streams.map(s => s.headers.streamtype), ['error', 'stdout', 'resize'])
})

test('attach speaks the same protocol as exec', async () => {
  const ep = endpoint('attach', 'stdin=1&stdout=1&stderr=1&exit=0')
  const r = textOf(await run(['attach', ep.url, '--stdin'], 'x'))
  assert.deepEqual(r, { code: 0, stdout: 'X', stderr: 'err\n' })
})

test('exec over v3: the error stream is plain text', async () => {
  const failing = endpoint('exec', 'stdout=1&stderr=1&exit=3')
  const r = textOf(await run(['exec', failing.url, '--protocols', 'v3.channel.k8s.io,v2.channel.k8s.io']))
  assert.equal(r.code, 1)
  assert.match(r.stderr, /command terminated with non-zero exit code: exit status 3/)
  assert.deepEqual(failing.seen().offered, ['v3.channel.k8s.io', 'v2.channel.k8s.io'])
  const ok = endpoint('exec', 'stdout=1&stderr=1&exit=0')
  assert.equal((await run(['exec', ok.url, '--protocols', 'v2.channel.k8s.io'])).code, 0)
})

test('exec against a kubelet-style server: bare SYN_REPLYs, RST_STREAM(CANCEL) and GOAWAY at the end', async () => {
  const ep = endpoint('exec', 'stdin=1&stdout=1&stderr=1&exit=3&style=kubelet')
  const r = textOf(await run(['exec', ep.url, '--stdin'], 'kube\n'))
  assert.deepEqual(r, { code: 3, stdout: 'KUBE\n', stderr: 'err\n' })
})

test('port-forward: 300 KiB of binary data echoes intact', async () => {
  const ep = endpoint('portforward')
  const input = Buffer.alloc(300 * 1024)
  for (let i = 0; i < input.length; i++) input[i] = (i * 7919 + (i >> 8)) & 0xff
  const r = await run(['port-forward', ep.url, '8080'], input)
  assert.equal(r.code, 0, r.stderr)
  assert.ok(r.stdout.equals(input), `echo differs (${r.stdout.length} bytes back)`)
  const streams = ep.seen().streams.map(s => s.headers)
  assert.deepEqual(streams.map(h => [h.streamtype, h.port, h.requestid]), [['error', '8080', '0'], ['data', '8080', '0']])
  assert.deepEqual(ep.seen().offered, ['portforward.k8s.io'])
})

test('port-forward: an error on the error stream exits 1', async () => {
  const ep = endpoint('portforward')
  const r = textOf(await run(['port-forward', ep.url, '666'], 'x'))
  assert.equal(r.code, 1)
  assert.match(r.stderr, /error forwarding port 666: connection refused/)
})

test('a non-101 answer exits 2 with the status line and body', async () => {
  const ep = endpoint('bad')
  const r = textOf(await run(['exec', ep.url]))
  assert.equal(r.code, 2)
  assert.match(r.stderr, /HTTP\/1\.1 404 Not Found/)
  assert.match(r.stderr, /session not found/)
})

test('a stream the server resets exits 2 and names it', async () => {
  const ep = endpoint('exec', 'stdout=1&stderr=1&refuse=stdout')
  const r = textOf(await run(['exec', ep.url]))
  assert.equal(r.code, 2)
  assert.match(r.stderr, /stdout stream.*REFUSED_STREAM|REFUSED_STREAM.*stdout/)
})

test('--timeout ends a run that never finishes with exit 2', async () => {
  const ep = endpoint('exec', 'stdout=1&stderr=1&hang=1')
  const start = Date.now()
  const r = textOf(await run(['exec', ep.url, '--timeout', '1']))
  assert.equal(r.code, 2)
  assert.match(r.stderr, /timed out after 1 s/)
  assert.ok(Date.now() - start < 10000)
})

test('a refused connection exits 2', async () => {
  const probe = net.createServer()
  await new Promise(resolve => probe.listen(0, '127.0.0.1', resolve))
  const port = probe.address().port
  await new Promise(resolve => probe.close(resolve))
  const r = textOf(await run(['exec', `http://127.0.0.1:${port}/exec/x`]))
  assert.equal(r.code, 2)
  assert.match(r.stderr, /cannot reach 127\.0\.0\.1:\d+: connect ECONNREFUSED/)
})
