#!/usr/bin/env node
// kube-stream: a client for a Kubernetes CRI streaming server (the URLs that
// Exec, Attach and PortForward return), speaking what client-go's remotecommand
// and portforward packages speak: an HTTP/1.1 upgrade to SPDY/3.1, then one SPDY
// stream per channel. The SPDY side is spdy-transport, a third-party
// implementation, so a server is tested against a peer that is not its own code.
import net from 'node:net'
import transport from 'spdy-transport'

const USAGE = `usage:
  kube-stream.mjs exec URL [--stdin] [--tty] [--no-stdout] [--no-stderr]
                  [--resize W,H]... [--protocols p1,p2,...] [--timeout SECONDS]
  kube-stream.mjs attach URL (same options as exec)
  kube-stream.mjs port-forward URL PORT [--timeout SECONDS]

URL is http://HOST:PORT/PATH, as returned by the CRI Exec/Attach/PortForward call.
exec/attach: stdin (with --stdin) goes to the remote command, its stdout and
stderr come out here; the exit status is the remote command's (a v4 Status),
1 for any other remote failure. port-forward: stdin goes to PORT in the pod,
what comes back goes to stdout; exit 1 if the server reported an error.
Exit 2: a protocol failure (no upgrade, a stream reset, GOAWAY, a timeout).
--timeout bounds the whole run (default 60).
KUBE_STREAM_DEBUG=1 logs the negotiated protocol and the control frames;
DEBUG='spdy:*' makes spdy-transport log every frame.
`

const EXEC_PROTOCOLS = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io']
const PORTFORWARD_PROTOCOL = 'portforward.k8s.io'
const REPLY_TIMEOUT_MS = 30000 // client-go's createStreamResponseTimeout
const debugOn = process.env.KUBE_STREAM_DEBUG === '1'

function debug (msg) {
  if (debugOn) process.stderr.write(`kube-stream: ${msg}\n`)
}

// ---- exit: every path goes through here so buffered output is never lost ----

let socket = null
let conn = null
const openStreams = []
let exiting = false
let waitingFor = 'the connection' // for the timeout message
const unfinished = new Set() // streams whose read side has not ended

function exit (code) {
  if (exiting) return
  exiting = true
  const flushAndExit = () =>
    process.stdout.write('', () => process.stderr.write('', () => process.exit(code)))
  if (!conn || socket.destroyed) return flushAndExit()
  // Tear down as client-go does (httpstream's Close): reset every stream still
  // open, then GOAWAY, then the TCP connection.
  for (const s of openStreams) s.abort()
  conn.end()
  socket.once('close', flushAndExit)
  setTimeout(() => { socket.destroy(); flushAndExit() }, 1000).unref()
}

function fail (msg) {
  process.stderr.write(`kube-stream: ${msg}\n`)
  exit(2)
}

// ---- arguments ----

function parseArgs (argv) {
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE)
    process.exit(argv.length === 0 ? 2 : 0)
  }
  const opts = {
    mode: argv[0], url: null, port: null, stdin: false, tty: false, stdout: true,
    stderr: true, resizes: [], protocols: null, timeout: 60
  }
  if (!['exec', 'attach', 'port-forward'].includes(opts.mode)) usage(`unknown command ${opts.mode}`)
  const positional = []
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`)
      return argv[++i]
    }
    if (a === '--stdin' || a === '-i') opts.stdin = true
    else if (a === '--tty' || a === '-t') opts.tty = true
    else if (a === '--no-stdout') opts.stdout = false
    else if (a === '--no-stderr') opts.stderr = false
    else if (a === '--resize') {
      const m = /^(\d+),(\d+)$/.exec(value())
      if (!m) usage('--resize wants W,H (two numbers)')
      opts.resizes.push({ Width: Number(m[1]), Height: Number(m[2]) })
    } else if (a === '--protocols') opts.protocols = value().split(',').filter(Boolean)
    else if (a === '--timeout') {
      opts.timeout = Number(value())
      if (!(opts.timeout > 0)) usage('--timeout wants a positive number of seconds')
    } else if (a.startsWith('-')) usage(`unknown option ${a}`)
    else positional.push(a)
  }
  const want = opts.mode === 'port-forward' ? 2 : 1
  if (positional.length !== want) usage(`${opts.mode} takes ${want === 2 ? 'URL PORT' : 'URL'}`)
  opts.url = positional[0]
  if (opts.mode === 'port-forward') {
    opts.port = positional[1]
    if (!/^\d+$/.test(opts.port) || Number(opts.port) < 1 || Number(opts.port) > 65535) usage(`bad port ${opts.port}`)
  }
  return opts
}

function usage (msg) {
  process.stderr.write(`kube-stream: ${msg}\n${USAGE}`)
  process.exit(2)
}

// ---- HTTP/1.1 upgrade ----

// Resolves to { socket, protocol, headers } after a 101, or to
// { status, statusLine, body } for any other answer.
function upgrade (url, protocols) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 80) })
    const lines = [
      `POST ${url.pathname}${url.search} HTTP/1.1`,
      `Host: ${url.host}`,
      'Connection: Upgrade',
      'Upgrade: SPDY/3.1',
      ...protocols.map(p => `X-Stream-Protocol-Version: ${p}`),
      'Content-Length: 0'
    ]
    sock.on('connect', () => {
      waitingFor = 'the response to the upgrade request'
      sock.write(lines.join('\r\n') + '\r\n\r\n')
    })
    sock.on('error', err => reject(new Error(`cannot reach ${url.host}: ${err.message}`)))
    let buf = Buffer.alloc(0)
    let head = null
    const onData = chunk => {
      buf = Buffer.concat([buf, chunk])
      if (!head) {
        const end = buf.indexOf('\r\n\r\n')
        if (end < 0) {
          if (buf.length > 64 * 1024) reject(new Error('response head larger than 64 KiB'))
          return
        }
        head = parseHead(buf.subarray(0, end).toString('latin1'))
        buf = buf.subarray(end + 4)
        if (!head) return reject(new Error('malformed HTTP response head'))
        if (head.status === 101) {
          sock.removeListener('data', onData)
          sock.removeListener('end', done)
          sock.pause()
          // The server may already have sent SPDY frames behind the head.
          if (buf.length) sock.unshift(buf)
          return resolve({ socket: sock, protocol: head.headers['x-stream-protocol-version'] || '', headers: head.headers })
        }
      }
      const len = Number(head.headers['content-length'])
      if (Number.isFinite(len) && buf.length >= len) done()
    }
    const done = () => {
      if (!head) return reject(new Error('connection closed before a response head'))
      sock.destroy()
      resolve({ status: head.status, statusLine: head.statusLine, body: buf.toString() })
    }
    sock.on('data', onData)
    sock.on('end', done)
  })
}

function parseHead (text) {
  const [statusLine, ...rest] = text.split('\r\n')
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)
  if (!m) return null
  const headers = {}
  for (const line of rest) {
    const i = line.indexOf(':')
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim()
  }
  return { status: Number(m[1]), statusLine, headers }
}

// ---- SPDY streams ----

const streamNames = new Map() // stream id -> streamtype, for messages
const readEnded = new Set() // ids of streams whose FIN has arrived

// Opens a stream and waits for the server's SYN_REPLY, as client-go's
// CreateStream does.
function openStream (name, headers, host) {
  return new Promise((resolve, reject) => {
    // POST, not spdy-transport's default GET: it ends GET streams at once (FIN
    // on the SYN_STREAM), and stdin and resize must stay writable.
    const s = conn.request({ method: 'POST', path: '/', host, headers })
    streamNames.set(s.id, name)
    openStreams.push(s)
    waitingFor = `the reply to the ${name} stream`
    // spdy-transport wants ":status" in a SYN_REPLY and resets the stream when
    // it is missing; client-go accepts any reply, and the Kubernetes streaming
    // library replies with no headers at all. Take the reply as client-go does.
    s._spdyState.needResponse = false
    const timer = setTimeout(() => reject(new Error(`no reply to the ${name} stream in ${REPLY_TIMEOUT_MS / 1000} s`)), REPLY_TIMEOUT_MS)
    const settle = (fn, arg) => { clearTimeout(timer); conn.removeListener('close', onClose); fn(arg) }
    const onClose = () => settle(reject, new Error(`connection closed before the reply to the ${name} stream`))
    conn.on('close', onClose)
    s.once('headers', h => {
      debug(`${name} stream ${s.id}: reply ${JSON.stringify(h)}`)
      settle(resolve, s)
    })
    s.on('error', err => settle(reject, new Error(`${name} stream: ${err.message}`)))
    s.once('close', () => settle(reject, new Error(`the server reset the ${name} stream before replying`)))
  })
}

function startSession (sock, host) {
  socket = sock
  conn = transport.connection.create(sock, { protocol: 'spdy', isServer: false })
  // A client has no version to learn from the peer: 3.1 selects the SPDY/3
  // framing and header dictionary plus session-level flow control, i.e. SPDY/3.1.
  conn.start(3.1)
  conn.on('error', err => {
    // A socket error (EPIPE, ECONNRESET) is the connection going away, which
    // the Kubernetes streaming library does right after its GOAWAY; what has
    // arrived by then still counts. Anything else is a malformed frame.
    if (err.syscall) debug(`socket: ${err.message}`)
    else if (!exiting) fail(`SPDY connection: ${err.message}`)
  })
  conn.on('frame', frame => {
    const name = streamNames.get(frame.id) || `stream ${frame.id}`
    if (frame.type === 'RST') {
      debug(`RST_STREAM ${frame.code} on ${name} stream ${frame.id}`)
      // CANCEL is how the Kubernetes streaming library ends streams when it
      // closes the connection; client-go reads it as the end of that stream.
      // After a FIN nothing can be lost (and a peer may answer a late
      // WINDOW_UPDATE so), so only an earlier reset with another code fails.
      if (frame.code !== 'CANCEL' && !readEnded.has(frame.id) && !exiting) {
        fail(`the server reset the ${name} stream (${frame.code})`)
      }
    } else if (frame.type === 'GOAWAY') {
      debug(`GOAWAY ${frame.code} last-stream ${frame.lastId}`)
      if (frame.code !== 'OK' && !exiting) fail(`the server sent GOAWAY (${frame.code})`)
    } else if (frame.type === 'SETTINGS' || (frame.type === 'WINDOW_UPDATE' && frame.id === 0)) {
      debug(`${frame.type} ${JSON.stringify(frame.settings || { delta: frame.delta })}`)
    }
  })
  return conn
}

// Resolves when the stream's read side is over, with how: 'fin', 'reset', or
// 'connection' (gone first).
function readDone (s) {
  const name = streamNames.get(s.id)
  unfinished.add(name)
  waitingFor = 'the end of the streams'
  return new Promise(resolve => {
    // spdy-transport emits 'close' before our 'end' listener runs when a FIN
    // completes the stream, so a FIN is told by the readable state instead.
    const done = otherwise => {
      const how = s._readableState.ended ? 'fin' : otherwise
      if (how === 'fin') readEnded.add(s.id)
      if (unfinished.delete(name)) debug(`${name} stream: read side over (${how})`)
      resolve(how)
    }
    s.once('end', () => done('fin'))
    s.once('close', () => done('reset'))
    conn.once('close', () => done('connection'))
  })
}

// Where a run that timed out was stuck, naming the SPDY window when that is
// what holds the client's writes back.
function stuckAt () {
  let what = waitingFor === 'the end of the streams'
    ? `the end (FIN) of the ${[...unfinished].join(', ')} stream${unfinished.size > 1 ? 's' : ''}`
    : waitingFor
  if (!conn) return what
  const session = conn._spdyState.window.send.current
  for (const s of openStreams) {
    if (s.writableLength === 0 || s._spdyState.aborted) continue
    const window = s._spdyState.window.send.current
    const blocked = session <= 0
      ? 'the session send window is used up (no WINDOW_UPDATE for stream 0)'
      : window <= 0 ? 'its send window is used up (no WINDOW_UPDATE for it)' : null
    if (blocked) what += `; the ${streamNames.get(s.id)} stream has ${s.writableLength} bytes queued: ${blocked}`
  }
  return what
}

// The server never FINs a stream the client only writes to; keep its read side
// flowing anyway so a stray DATA frame cannot stall the window.
function writeOnly (s) {
  s.resume()
  s.on('error', () => {})
  return s
}

function collect (s) {
  const chunks = []
  s.on('data', c => chunks.push(c))
  return () => Buffer.concat(chunks).toString()
}

async function pipeOut (s, dest) {
  s.on('error', () => {}) // resets are reported by the frame listener
  s.pipe(dest, { end: false })
  const how = await readDone(s)
  // A reset or a lost connection can leave data buffered behind a slow dest.
  for (let c; (c = s.read()) !== null;) dest.write(c)
  return how
}

// ---- exec / attach ----

// What client-go's remotecommand makes of the error stream (errorDecoderV4 for
// v4, plain text before): an exit code, or a message and exit 1.
function execResult (protocol, text) {
  if (text === '') return { code: 0 }
  if (protocol !== 'v4.channel.k8s.io') return { code: 1, message: `error executing remote command: ${text}` }
  let status
  try {
    status = JSON.parse(text)
  } catch (err) {
    return { code: 1, message: `error stream protocol error: ${err.message} in ${JSON.stringify(text)}` }
  }
  if (status.status === 'Success') return { code: 0 }
  if (status.status === 'Failure' && status.reason === 'NonZeroExitCode') {
    const cause = (status.details?.causes || []).find(c => c.reason === 'ExitCode')
    if (!cause) return { code: 1, message: `error stream protocol error: no ExitCode cause in ${text}` }
    if (!/^\d+$/.test(cause.message) || Number(cause.message) > 255) {
      return { code: 1, message: `error stream protocol error: invalid exit code value ${JSON.stringify(cause.message)}` }
    }
    return { code: Number(cause.message) }
  }
  if (status.status === 'Failure' && status.message) return { code: 1, message: status.message }
  return { code: 1, message: `error stream protocol error: ${text}` }
}

async function runExec (opts, protocol, host) {
  const fin = s => { s.end(); return s }
  // Order and FINs as client-go creates them: error, stdin, stdout, stderr,
  // resize; the client writes only to stdin and resize.
  const error = fin(await openStream('error', { streamtype: 'error' }, host))
  const stdin = opts.stdin ? writeOnly(await openStream('stdin', { streamtype: 'stdin' }, host)) : null
  const stdout = opts.stdout ? fin(await openStream('stdout', { streamtype: 'stdout' }, host)) : null
  const stderr = opts.stderr && !opts.tty ? fin(await openStream('stderr', { streamtype: 'stderr' }, host)) : null
  // Resize exists from v3 on; client-go makes no resize stream for v1 and v2.
  const resizable = protocol === 'v4.channel.k8s.io' || protocol === 'v3.channel.k8s.io'
  const resize = opts.tty && resizable ? writeOnly(await openStream('resize', { streamtype: 'resize' }, host)) : null

  // client-go's json.Encoder ends each message with a newline.
  if (resize) for (const size of opts.resizes) resize.write(JSON.stringify(size) + '\n')
  else if (opts.resizes.length) debug(`no resize stream (${opts.tty ? protocol : 'no --tty'}): --resize ignored`)
  if (stdin) process.stdin.pipe(stdin)

  const errorText = collect(error)
  error.on('error', () => {})
  const waits = [readDone(error)]
  if (stdout) waits.push(pipeOut(stdout, process.stdout))
  if (stderr) waits.push(pipeOut(stderr, process.stderr))
  const [errorEnd] = await Promise.all(waits)
  // client-go takes an error stream cut short as complete (so an empty one is
  // success); say so, since a server that drops the connection looks like that.
  if (errorEnd === 'connection') process.stderr.write('kube-stream: warning: the connection closed before the error stream ended\n')

  const { code, message } = execResult(protocol, errorText())
  if (message) process.stderr.write(`${message}\n`)
  exit(code)
}

// ---- port-forward ----

async function runPortForward (opts, host) {
  const headers = type => ({ streamtype: type, port: opts.port, requestid: '0' })
  // client-go closes the error stream at once: only the server writes to it.
  const error = await openStream('error', headers('error'), host)
  error.end()
  const data = await openStream('data', headers('data'), host)
  data.on('error', () => {})
  error.on('error', () => {})
  const errorText = collect(error)
  process.stdin.pipe(data)
  await Promise.all([readDone(error), pipeOut(data, process.stdout)])
  const text = errorText()
  if (text) process.stderr.write(text.endsWith('\n') ? text : `${text}\n`)
  exit(text ? 1 : 0)
}

// ---- main ----

async function main () {
  const opts = parseArgs(process.argv.slice(2))
  setTimeout(() => fail(`timed out after ${opts.timeout} s waiting for ${stuckAt()}`), opts.timeout * 1000).unref()
  let url
  try {
    url = new URL(opts.url)
  } catch {
    usage(`bad URL ${opts.url}`)
  }
  if (url.protocol !== 'http:') usage(`only http:// URLs are supported, not ${url.protocol}`)
  const offered = opts.mode === 'port-forward' ? [PORTFORWARD_PROTOCOL] : (opts.protocols || EXEC_PROTOCOLS)

  const res = await upgrade(url, offered)
  if (!res.socket) {
    process.stderr.write(`kube-stream: upgrade refused: ${res.statusLine}\n`)
    if (res.body) process.stderr.write(res.body.endsWith('\n') ? res.body : `${res.body}\n`)
    return exit(2)
  }
  // client-go insists on both headers of a 101 before it speaks SPDY.
  const connection = (res.headers.connection || '').toLowerCase()
  const upgradeTo = (res.headers.upgrade || '').toLowerCase()
  if (!connection.includes('upgrade') || !upgradeTo.includes('spdy/3.1')) {
    res.socket.destroy()
    return fail(`101 without "Connection: Upgrade" and "Upgrade: SPDY/3.1" (got ${JSON.stringify(res.headers)})`)
  }
  debug(`protocol ${res.protocol || '(none)'}`)
  if (opts.mode === 'port-forward' && res.protocol !== PORTFORWARD_PROTOCOL) {
    res.socket.destroy()
    return fail(`server chose protocol "${res.protocol}", not ${PORTFORWARD_PROTOCOL}`)
  }
  // client-go takes no choice at all as the original channel.k8s.io.
  const protocol = res.protocol || 'channel.k8s.io'
  if (res.protocol && !offered.includes(res.protocol)) {
    res.socket.destroy()
    return fail(`server chose protocol "${res.protocol}", which was not offered`)
  }

  startSession(res.socket, url.host)
  if (opts.mode === 'port-forward') await runPortForward(opts, url.host)
  else await runExec(opts, protocol, url.host)
}

main().catch(err => fail(err.message))
