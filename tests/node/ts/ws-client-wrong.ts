// Wrong uses that ws's types refuse: each line below must be an error with
// ws's types and with wsbridge's (they are real types, not any).
import WebSocket from 'ws';

const ws = new WebSocket(42);
ws.close('1000');
ws.binaryType = 'text';
const state: 'open' = ws.readyState;
