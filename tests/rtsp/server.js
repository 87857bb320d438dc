// A real RTSP server for the tests: producers (ffmpeg -f rtsp) publish on PUBLISH_PORT,
// clients (facetrack) pull from CLIENT_PORT; RTP over UDP from RTP_PORT.
// Usage: node server.js PUBLISH_PORT CLIENT_PORT RTP_PORT [RTP_PORT_COUNT]
const RtspServer = require('rtsp-streaming-server').default;
const [publishPort, clientPort, rtpPort, rtpCount] = process.argv.slice(2).map(Number);
const server = new RtspServer({
  serverPort: publishPort, clientPort: clientPort, rtpPortStart: rtpPort,
  rtpPortCount: rtpCount || 40,
});
server.start()
  .then(() => console.log('ready'))
  .catch((e) => { console.error(e); process.exit(1); });
process.on('SIGTERM', () => process.exit(0));
