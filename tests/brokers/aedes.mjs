// aedes, an MQTT broker written for Node.js, on 127.0.0.1:PORT: the second broker implementation
// iot-mock is tested against (Mosquitto is the first). Prints "listening PORT" once it accepts.
// aedes 0.51 runs on Node.js 16 and later, so Debian's own nodejs package will do.
import net from 'node:net'
import createBroker from 'aedes'

const port = Number(process.argv[2])
const broker = createBroker()
const server = net.createServer(broker.handle)
server.listen(port, '127.0.0.1', () => console.log(`listening ${port}`))
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => broker.close(() => process.exit(0))))
}
