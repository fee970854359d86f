import WebSocket from 'wsbridge/ws';

const ws = new WebSocket('wsbridge://feed');

ws.on('error', console.error);

ws.on('open', function open() {
  const array = new Float32Array(5);

  for (var i = 0; i < array.length; ++i) {
    array[i] = i / 2;
  }

  ws.send(array);
});
