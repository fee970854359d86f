import WebSocket from 'wsbridge/ws';

const ws = new WebSocket('wsbridge://feed', {
  perMessageDeflate: false
});
