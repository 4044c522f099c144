// Start-up floor of any Node.js server on this machine: node:http answering
// the health path, nothing loaded. Run: PORT=3001 node bench/floors/node-http.mjs
import { createServer } from 'node:http'

const server = createServer((request, response) => {
  response.writeHead(request.url === '/__mock/health' ? 200 : 404, { 'content-type': 'application/json' })
  response.end('{"status":"ok"}')
})
server.listen(Number(process.env.PORT ?? 3001), process.env.HOST ?? '127.0.0.1')
process.once('SIGTERM', () => server.close())
