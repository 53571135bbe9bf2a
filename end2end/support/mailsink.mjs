// A local SMTP server for the browser tests: it accepts every message and serves what it
// received at GET http://127.0.0.1:$MAILSINK_HTTP_PORT/messages?to=<address> (JSON).
import net from "node:net";
import http from "node:http";

const SMTP_PORT = Number(process.env.MAILSINK_SMTP_PORT ?? 2525);
const HTTP_PORT = Number(process.env.MAILSINK_HTTP_PORT ?? 2580);
const messages = [];

function decodeQuotedPrintable(text) {
  return text
    .replace(/=\r?\n/g, "")
    .replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
}

net
  .createServer((sock) => {
    let buffer = "";
    let inData = false;
    let data = [];
    sock.write("220 mailsink ESMTP\r\n");
    sock.on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      let idx;
      while ((idx = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, idx);
        buffer = buffer.slice(idx + 2);
        if (inData) {
          if (line === ".") {
            inData = false;
            const raw = data.join("\n");
            const to = (raw.match(/^To:\s*(.*)$/im)?.[1] ?? "").toLowerCase();
            messages.push({ to, raw: decodeQuotedPrintable(raw) });
            data = [];
            sock.write("250 OK queued\r\n");
          } else {
            data.push(line.startsWith(".") ? line.slice(1) : line);
          }
          continue;
        }
        const cmd = line.toUpperCase();
        if (cmd.startsWith("EHLO")) sock.write("250-mailsink\r\n250 8BITMIME\r\n");
        else if (cmd.startsWith("DATA")) {
          inData = true;
          sock.write("354 go ahead\r\n");
        } else if (cmd.startsWith("QUIT")) {
          sock.end("221 bye\r\n");
        } else sock.write("250 OK\r\n");
      }
    });
    sock.on("error", () => {});
  })
  .listen(SMTP_PORT, "127.0.0.1");

http
  .createServer((req, res) => {
    const url = new URL(req.url, "http://localhost");
    if (url.pathname === "/health") return res.end("ok");
    if (url.pathname === "/messages") {
      const to = (url.searchParams.get("to") ?? "").toLowerCase();
      res.setHeader("content-type", "application/json");
      return res.end(JSON.stringify(messages.filter((m) => !to || m.to.includes(to))));
    }
    res.statusCode = 404;
    res.end();
  })
  .listen(HTTP_PORT, "127.0.0.1");
