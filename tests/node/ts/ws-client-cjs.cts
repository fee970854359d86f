// A ws client program in TypeScript compiled to CommonJS (`import = require`).
import WebSocket = require('ws');

const ws = new WebSocket('ws://localhost:8080');
ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => console.log(data, isBinary));
ws.on('open', () => ws.send('hello'));
const stream = WebSocket.createWebSocketStream(ws);
stream.write('x');
const Other = WebSocket.WebSocket;
const other: WebSocket = new Other('ws://localhost:8080', { handshakeTimeout: 1000 });
other.close(4000);
