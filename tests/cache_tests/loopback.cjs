// Preloaded (node --require) into the suite's origin server, which calls
// server.listen(port) with no host and so would listen on every interface.
// A listen given a port and no host is bound to 127.0.0.1 instead; the port
// may be 0 (the server prints the one it got). Nothing else is changed.
'use strict'
const net = require('net')

const originalListen = net.Server.prototype.listen
net.Server.prototype.listen = function (...args) {
  const first = args[0]
  const isPort = typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))
  if (isPort && typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1')
  return originalListen.apply(this, args)
}
