// The node peer of bench/load.sh: the servers of load_yieldc.c on node's
// net module (one thread, its event loop).
//
//   node load_node.js ping|http PORT
//
// Prints "ready" once listening; SIGINT stops it.
'use strict';
const net = require('net');

const PONG = Buffer.from('+PONG\r\n');
const ERR = Buffer.from('-ERR unknown command\r\n');
const HELLO = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n' +
  'Content-Length: 13\r\n\r\nHello, World!');

// Answers the complete Redis commands in buf; returns the bytes consumed
// and pushes the replies, or -1 on a protocol error.
function parsePing(buf, out) {
  let pos = 0;
  for (;;) {
    const eol = buf.indexOf(10, pos);
    if (eol < 0) return pos;
    if (buf[pos] === 42 /* '*' */) {
      const argc = parseInt(buf.toString('latin1', pos + 1, eol), 10);
      if (!(argc >= 1 && argc <= 1024)) return -1;
      let r = eol + 1, ping = false;
      for (let i = 0; i < argc; i++) {
        const e = buf.indexOf(10, r);
        if (e < 0) return pos;
        if (buf[r] !== 36 /* '$' */) return -1;
        const len = parseInt(buf.toString('latin1', r + 1, e), 10);
        if (!(len >= 0)) return -1;
        if (e + 1 + len + 2 > buf.length) return pos;
        if (i === 0) ping = argc === 1 && len === 4 && buf.toString('latin1', e + 1, e + 5).toUpperCase() === 'PING';
        r = e + 1 + len + 2;
      }
      out.push(ping ? PONG : ERR);
      pos = r;
    } else {
      let end = eol;
      if (end > pos && buf[end - 1] === 13) end--;
      if (end > pos) out.push(buf.toString('latin1', pos, end).toUpperCase() === 'PING' ? PONG : ERR);
      pos = eol + 1;
    }
  }
}

function parseHttp(buf, out) {
  let pos = 0;
  for (;;) {
    const e = buf.indexOf('\r\n\r\n', pos, 'latin1');
    if (e < 0) return pos;
    out.push(HELLO);
    pos = e + 4;
  }
}

const mode = process.argv[2], port = parseInt(process.argv[3], 10);
if ((mode !== 'ping' && mode !== 'http') || !(port >= 0)) {
  console.error('usage: node load_node.js ping|http PORT');
  process.exit(2);
}
const parse = mode === 'ping' ? parsePing : parseHttp;
const server = net.createServer((sock) => {
  let pending = null;
  sock.setNoDelay(true);
  sock.on('data', (chunk) => {
    const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    const out = [];
    const used = parse(buf, out);
    if (used < 0 || buf.length - used > 65536) { sock.destroy(); return; }
    pending = used < buf.length ? buf.subarray(used) : null;
    if (out.length === 1) sock.write(out[0]);
    else if (out.length) sock.write(Buffer.concat(out));
  });
  sock.on('error', () => {});
});
server.listen({ host: '127.0.0.1', port, backlog: 4096 }, () => console.log('ready'));
process.on('SIGINT', () => { server.close(); process.exit(0); });
