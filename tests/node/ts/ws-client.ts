// A ws client program in TypeScript, the way ws's README and its users
// write one. ws-types.test.mjs checks it with ws's own types (@types/ws) and,
// with only the import changed to 'wsbridge/ws', with wsbridge's.
import WebSocket, { createWebSocketStream, type RawData } from 'ws';

const ws = new WebSocket('ws://www.host.com/path', {
  headers: { Authorization: 'Bearer abc' },
  perMessageDeflate: false,
  handshakeTimeout: 5000,
  origin: 'https://example.com',
});

ws.on('error', console.error);

ws.on('open', function open() {
  ws.send('something');
  const array = new Float32Array(5);
  for (let i = 0; i < array.length; ++i) array[i] = i / 2;
  ws.send(array);
  ws.send(Date.now());
  ws.send(Buffer.from('x'), { binary: true, compress: false }, (err) => {
    if (err) console.error(err.message);
  });
});

ws.on('message', function message(data: RawData, isBinary: boolean) {
  console.log('received: %s', data, isBinary);
});
ws.on('close', (code: number, reason: Buffer) => console.log(code, reason.toString()));
ws.on('ping', (data: Buffer) => ws.pong(data));
ws.on('pong', () => console.log('pong'));
ws.on('upgrade', (res) => console.log(res.headers['set-cookie']));
ws.on('unexpected-response', (_req, res) => console.log(res.statusCode));
ws.once('open', () => ws.ping());

ws.onopen = () => console.log('open');
ws.onmessage = (event) => console.log(event.data);
ws.onclose = (event) => console.log(event.code, event.reason, event.wasClean);
ws.onerror = (event) => console.log(event.message, event.error);
ws.addEventListener('message', (event) => console.log(event.data, event.type), { once: true });
ws.addEventListener('close', { handleEvent: (event) => console.log(event.code) });

ws.binaryType = 'arraybuffer';
if (ws.readyState === WebSocket.OPEN && ws.bufferedAmount === 0) ws.close(1000, 'bye');
if (ws.readyState === ws.CLOSED) console.log(ws.url, ws.protocol, ws.extensions, ws.isPaused);
ws.ping('x', true, (err: Error) => console.log(err));
ws.pause();
ws.resume();
ws.terminate();

const duplex = createWebSocketStream(ws, { encoding: 'utf8' });
duplex.on('error', console.error);
duplex.pipe(process.stdout);
process.stdin.pipe(duplex);

const withProtocols = new WebSocket(new URL('wss://echo.example/'), ['chat', 'superchat']);
const withProtocol = new WebSocket('wss://echo.example/', 'chat');
console.log(withProtocols.protocol, withProtocol.protocol);

// The README's client heartbeat.
function heartbeat(this: WebSocket & { pingTimeout?: NodeJS.Timeout }) {
  clearTimeout(this.pingTimeout);
  this.pingTimeout = setTimeout(() => {
    this.terminate();
  }, 30000 + 1000);
}
const client = new WebSocket('wss://websocket-echo.com/');
client.on('open', heartbeat);
client.on('ping', heartbeat);

// Types users name.
const data: WebSocket.Data = 'x';
const raw: WebSocket.RawData = Buffer.alloc(1);
const options: WebSocket.ClientOptions = { protocolVersion: 13, maxPayload: 1 << 20 };
let closeEvent: WebSocket.CloseEvent | undefined;
console.log(data, raw, options, closeEvent);

class Reconnecting {
  ws: WebSocket | null = null;
  connect(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('close', () => setTimeout(() => this.connect(url), 1000));
  }
}
new Reconnecting().connect('ws://localhost:8080');
