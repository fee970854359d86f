// A client app written the way the ws package's README shows one. The ws
// tests run it as it is against a WebSocket server, and with only its
// import and its URL changed against wsbridged.
import WebSocket from 'ws';

const ws = new WebSocket(process.argv[2]);
let count = 0;

ws.on('error', console.error);

ws.on('open', function open() {
  ws.send('something');
});

ws.on('message', function message(data) {
  console.log('received: %s', data);
  if (++count === 3) ws.close();
});

ws.on('close', function close() {
  console.log('disconnected');
});
