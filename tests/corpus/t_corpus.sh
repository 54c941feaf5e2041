#!/bin/sh
# variants: opt san
# spanwatch over every capture of ../shared/pcap/ndpi against tshark's IP
# totals and ndpiReader's labels; under the san build, also no sanitizer
# report and no leak. See corpus.py.
exec /usr/bin/python3 "$TOP/tests/corpus/corpus.py"
