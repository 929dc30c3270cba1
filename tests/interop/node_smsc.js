// An SMSC built on node-smpp, a peer we did not write. It answers binds, submit_sm
// (with a decimal message id) and sends one delivery receipt per submit. Every event
// is printed as one JSON line on stdout for the test to read.
"use strict";
const smpp = require("smpp");

const port = Number(process.argv[2] || 0);
let nextId = 1000;
const emit = (event) => process.stdout.write(JSON.stringify(event) + "\n");

const server = smpp.createServer({ debug: false }, (session) => {
  const bind = (pdu) => {
    session.pause();
    if (pdu.system_id !== "chatti" || pdu.password !== "secret") {
      session.send(pdu.response({ command_status: smpp.ESME_RBINDFAIL }));
      emit({ event: "bind_refused", system_id: pdu.system_id });
    } else {
      session.send(pdu.response({ system_id: "node-smsc" }));
      emit({ event: "bound", command: pdu.command });
    }
    session.resume();
  };
  session.on("bind_transceiver", bind);
  session.on("bind_transmitter", bind);
  session.on("enquire_link", (pdu) => session.send(pdu.response()));
  session.on("unbind", (pdu) => {
    session.send(pdu.response());
    session.close();
  });
  session.on("submit_sm", (pdu) => {
    const id = String(nextId++);
    session.send(pdu.response({ message_id: id }));
    const text = Buffer.isBuffer(pdu.short_message)
      ? pdu.short_message.toString("latin1")
      : String(pdu.short_message.message);
    emit({ event: "submit", id, to: pdu.destination_addr, text });
    setTimeout(() => {
      const receipt =
        `id:${id} sub:001 dlvrd:001 submit date:2611281200 done date:2611281201` +
        ` stat:DELIVRD err:000 text:${text.slice(0, 20)}`;
      session.deliver_sm(
        {
          source_addr: pdu.destination_addr,
          destination_addr: pdu.source_addr,
          esm_class: 4,
          short_message: Buffer.from(receipt, "latin1"),
        },
        (resp) => emit({ event: "receipt_acked", id, status: resp.command_status }),
      );
    }, 10);
  });
  session.on("error", (error) => emit({ event: "error", message: String(error) }));
});

server.listen(port, "127.0.0.1", () => emit({ event: "listening", port: server.address().port }));
