import WebSocket from 'wsbridge/ws';

const ws = new WebSocket('wsbridge://feed');

ws.on('error', console.error);

ws.on('open', function open() {
  ws.send('something');
});

ws.on('message', function message(data) {
  console.log('received: %s', data);
});
