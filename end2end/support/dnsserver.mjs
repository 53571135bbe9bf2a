// A DNS server for the browser tests (UDP, TXT records only) whose zone the tests edit while
// they run: POST http://127.0.0.1:$TESTDNS_HTTP_PORT/txt {"name": "...", "values": ["..."]}.
// Unknown names answer NXDOMAIN. Enough of RFC 1035 for hickory-resolver's TXT lookups.
import dgram from "node:dgram";
import http from "node:http";

const DNS_PORT = Number(process.env.TESTDNS_PORT ?? 5354);
const HTTP_PORT = Number(process.env.TESTDNS_HTTP_PORT ?? 2581);
const zone = new Map(); // lower-case name without trailing dot -> [values]

function readName(buf, offset) {
  const labels = [];
  for (;;) {
    const len = buf[offset];
    if (len === 0) return { name: labels.join("."), end: offset + 1 };
    labels.push(buf.toString("latin1", offset + 1, offset + 1 + len));
    offset += 1 + len;
  }
}

const udp = dgram.createSocket("udp4");
udp.on("message", (msg, rinfo) => {
  if (msg.length < 12) return;
  const id = msg.readUInt16BE(0);
  const flags = msg.readUInt16BE(2);
  const { name, end } = readName(msg, 12);
  const qtype = msg.readUInt16BE(end);
  const question = msg.subarray(12, end + 4);
  const values = zone.get(name.toLowerCase().replace(/\.$/, ""));
  const answers = [];
  if (values && qtype === 16) {
    for (const v of values) {
      const data = Buffer.from(v, "utf8");
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0); // pointer to the question name
      rr.writeUInt16BE(16, 2); // TXT
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(60, 6);
      rr.writeUInt16BE(data.length + 1, 10);
      answers.push(Buffer.concat([rr, Buffer.from([data.length]), data]));
    }
  }
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  const rcode = values ? 0 : 3;
  header.writeUInt16BE(0x8000 | 0x0400 | (flags & 0x0100) | 0x0080 | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  udp.send(Buffer.concat([header, question, ...answers]), rinfo.port, rinfo.address);
});
udp.bind(DNS_PORT, "127.0.0.1");

http
  .createServer((req, res) => {
    if (req.url === "/health") return res.end("ok");
    if (req.method === "POST" && req.url === "/txt") {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const { name, values } = JSON.parse(body);
        zone.set(String(name).toLowerCase().replace(/\.$/, ""), values);
        res.end("ok");
      });
      return;
    }
    res.statusCode = 404;
    res.end();
  })
  .listen(HTTP_PORT, "127.0.0.1");
