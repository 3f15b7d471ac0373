"""The span exporter process of a traced process: `python -m telemetry.exporter_process NAME`.

Started by span_shipping.py with a Unix socket (SOCK_SEQPACKET) as its standard input. It
reads batches of span records (span_records.py), turns each back into the SDK's ReadableSpan
in the resource of `service.name` NAME (OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
apply, as in any SDK process), and hands them to the SDK's BatchSpanProcessor and OTLP/HTTP
protobuf exporter, configured by OpenTelemetry's own variables (endpoint, headers, timeouts,
OTEL_BSP_*), which it inherits. A flush request is answered once the batch processor has
exported everything received before it. The end of its input (the traced process stopped, or
died) exports what is left and ends the process.
"""

from __future__ import annotations

import logging
import marshal
import signal
import socket
import sys

from telemetry.span_records import span_of
from telemetry.span_shipping import FLUSH, FLUSHED, MAX_MESSAGE, SPANS


def main(service_name: str) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # The traced process decides when this one stops (it closes the socket): a Ctrl-C that
    # reaches the whole process group must not lose the spans it still ships.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING)
    resource = Resource.create({SERVICE_NAME: service_name})
    processor = BatchSpanProcessor(OTLPSpanExporter())
    channel = socket.socket(fileno=sys.stdin.fileno())
    try:
        while message := channel.recv(MAX_MESSAGE):
            kind, *body = marshal.loads(message)  # noqa: S302 (our parent, a private socket pair)
            if kind == SPANS:
                for record in body[0]:
                    processor.on_end(span_of(record, resource))
            elif kind == FLUSH:
                token, timeout_millis = body
                done = processor.force_flush(timeout_millis)
                channel.send(marshal.dumps((FLUSHED, token, done)))
    except ConnectionError:
        pass  # the traced process is gone: export what came
    finally:
        processor.shutdown()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    main(sys.argv[1])
