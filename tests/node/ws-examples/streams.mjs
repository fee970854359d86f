import WebSocket, { createWebSocketStream } from 'wsbridge/ws';

const ws = new WebSocket('wsbridge://echo');

const duplex = createWebSocketStream(ws, { encoding: 'utf8' });

duplex.on('error', console.error);

duplex.pipe(process.stdout);
process.stdin.pipe(duplex);
