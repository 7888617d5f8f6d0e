#!/usr/bin/env python3
"""Writes the committed seed corpus of each fuzz target, tests/fuzz/corpus/<target>/.

Each seed is a small, meaningful input in the target's own layout (its first
bytes choose limits and cut points, see the comment at the top of each
tests/fuzz/fuzz_*.cpp), so libFuzzer starts from requests that reach deep into
the parsers instead of rediscovering HTTP, multipart, RESP and JSON from
nothing. Run it after changing a seed; `make fuzz` copies the corpus into
build-fuzz and never writes here.

usage: python3 tests/fuzz/make_seeds.py
"""

import os
import shutil

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def http(mode=0, cuts=(), wire=b""):
    """fuzz_http_request: byte 0 = cut count (bits 0-2) | pause after each request (bit 3)."""
    assert len(cuts) <= 7
    return bytes([mode | len(cuts)]) + bytes(cuts) + wire


def multipart(boundary, header_limit, parts_limit, body, cuts=()):
    """fuzz_multipart: byte 0 = boundary index (bits 0-1) | cut count (bits 2-4);
    byte 1 = header limit (32 + 8 * low 6 bits) | part limit (1 + 3 * high 2 bits)."""
    boundaries = [b"AaB03x", b"x", b"--", b"----WebKitFormBoundary7MA4YWxkTrZu0gW"]
    index = boundaries.index(boundary)
    assert (header_limit - 32) % 8 == 0 and 0 <= (header_limit - 32) // 8 < 64
    assert (parts_limit - 1) % 3 == 0 and 0 <= (parts_limit - 1) // 3 < 4
    mode = index | (len(cuts) << 2)
    limits = (header_limit - 32) // 8 | ((parts_limit - 1) // 3) << 6
    return bytes([mode, limits]) + bytes(cuts) + body


def resp(limits=0, cuts=(), stream=b""):
    """fuzz_resp_parser: byte 0 = cut count (bits 0-2) | limits choice (bits 3-4)."""
    return bytes([len(cuts) | limits << 3]) + bytes(cuts) + stream


def json(text, limits=0, content_type=0, depth=0):
    """fuzz_json: byte 0 = field limits (bits 0-1) | Content-Type (bits 2-3) |
    max_depth choice (bits 4-7: 64, 0, 1, 2, 3, 4, 5, 8, 16, 31, 32, 63, 65, 100, 255, 1000)."""
    if isinstance(text, str):
        text = text.encode()
    mode = limits | content_type << 2 | depth << 4
    return bytes([mode]) + text


def form(boundary, parts, preamble=b"", epilogue=b""):
    body = preamble
    for headers, data in parts:
        body += b"--" + boundary + b"\r\n" + headers + b"\r\n" + data + b"\r\n"
    return body + b"--" + boundary + b"--\r\n" + epilogue


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
UPLOAD = form(b"AaB03x", [
    (b'Content-Disposition: form-data; name="image"; filename="cat.png"\r\n'
     b"Content-Type: image/png\r\n", PNG),
])

def cache(status=0, method=0, parent=False, later=0, request=b"", response=b""):
    """fuzz_cache_fields: byte 0 = status index (bits 0-3) | method index (bits 4-6) |
    invalidate_parent (bit 7); bytes 1-2 = seconds after the response / 16
    (little-endian); then the request's fields, NUL, the response's fields."""
    head = bytes([status | method << 4 | (128 if parent else 0), later & 255, later >> 8])
    return head + request + b"\0" + response


SEEDS = {
    "fuzz_http_request": {
        "get_root": http(wire=b"GET / HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nAccept: */*\r\n\r\n"),
        "get_http10": http(wire=b"GET /recent HTTP/1.0\r\n\r\n"),
        "http10_keepalive": http(
            wire=b"GET /get HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /set HTTP/1.0\r\n\r\n"),
        "pipelined_paused": http(
            mode=8,
            wire=b"GET /set HTTP/1.1\r\nHost: a\r\n\r\nGET /get HTTP/1.1\r\nHost: a\r\n\r\n"
            b"HEAD /meow HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
        "pipelined_cut": http(
            cuts=(3, 17, 1, 40),
            wire=b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nGET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"),
        "post_message": http(
            wire=b"POST /messages HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
            b"Idempotency-Key: order-17\r\nContent-Length: 46\r\n\r\n"
            b'{"destination":"sms:+15550100","body":"hello"}'),
        "post_chunked_trailers": http(
            wire=b"POST /messages HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: application/json\r\n\r\n"
            b'5;ext=1\r\n{"des\r\n1a\r\ntination":"d","body":"b"}\r\n0\r\nX-Checksum: 1\r\n\r\n'),
        "chunked_then_get": http(
            mode=8, cuts=(30, 9),
            wire=b"PUT /files/a/b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n0\r\n\r\nGET /a/1/b/x/y HTTP/1.1\r\nHost: a\r\n\r\n"),
        "upload_multipart": http(
            wire=b"POST /upload HTTP/1.1\r\nHost: a\r\n"
            b"Content-Type: multipart/form-data; boundary=AaB03x\r\n"
            b"Content-Length: " + str(len(UPLOAD)).encode() + b"\r\n\r\n" + UPLOAD),
        "expect_continue": http(
            wire=b"POST /upload HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
            b"Content-Length: 3\r\n\r\nabc"),
        "percent_path": http(wire=b"GET /a%20b%2Fc%zz?x=1&y=%41 HTTP/1.1\r\nHost: a\r\n\r\n"),
        "message_routes": http(
            wire=b"GET /messages/m0123456789a?x HTTP/1.1\r\nHost: a\r\n\r\n"
            b"DELETE /messages/m1 HTTP/1.1\r\nHost: a\r\n\r\n"
            b"HEAD /messages/m2 HTTP/1.1\r\nHost: a\r\n\r\n"),
        "method_not_allowed": http(
            wire=b"POST /meow HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
            b"PATCH /p//7/ HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
            b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"),
        "absolute_form": http(wire=b"GET http://example.com:3000/get?q HTTP/1.1\r\nHost: x\r\n\r\n"),
        "headers_repeated": http(
            wire=b"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2  \r\nX-B:\t \r\n"
            b"Cookie: a=b; c=d\r\nCOOKIE: e\r\n\r\n"),
        "upgrade": http(
            wire=b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
            b"\x81\x05hello"),
        "smuggle_cl_te": http(
            wire=b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n"
            b"\r\n0\r\n\r\nGET /admin HTTP/1.1\r\n\r\n"),
        "duplicate_content_length": http(
            wire=b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
        "space_before_colon": http(wire=b"GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
        "bare_lf": http(wire=b"GET / HTTP/1.1\nHost: a\n\n"),
        "bad_chunk_size": http(
            wire=b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n"),
    },
    "fuzz_multipart": {
        "one_field": multipart(b"AaB03x", 536, 10, form(b"AaB03x", [
            (b'Content-Disposition: form-data; name="field1"\r\n', b"value")])),
        "image_file": multipart(b"AaB03x", 536, 10, UPLOAD),
        "image_file_cut": multipart(b"AaB03x", 536, 10, UPLOAD, cuts=(1, 9, 40, 3, 2)),
        "preamble_epilogue": multipart(b"AaB03x", 536, 10, form(b"AaB03x", [
            (b'Content-Disposition: form-data; name="a"\r\n', b"1"),
            (b'Content-Disposition: form-data; name="b"\r\n', b"two\r\nlines"),
        ], preamble=b"This is a preamble.\r\n", epilogue=b"and an epilogue")),
        "empty_parts": multipart(b"AaB03x", 536, 10, form(b"AaB03x", [
            (b'Content-Disposition: form-data; name=""\r\n', b""),
            (b'Content-Disposition: form-data; name="image"; filename=""\r\n'
             b"Content-Type: application/octet-stream\r\n", b""),
        ])),
        "zero_parts": multipart(b"AaB03x", 536, 10, b"--AaB03x--\r\n"),
        "quoted_escapes": multipart(b"AaB03x", 536, 10, form(b"AaB03x", [
            (b'content-disposition: FORM-DATA; filename="c:\\\\dir\\\\a\\"b.jpg"; name="x;y"\r\n'
             b"content-type:  image/jpeg  \r\n", b"\xff\xd8\xff\xe0")])),
        "transport_padding": multipart(
            b"AaB03x", 536, 10,
            b"--AaB03x \t\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--AaB03x--  \r\n"),
        "near_delimiters": multipart(b"AaB03x", 536, 10, form(b"AaB03x", [
            (b'Content-Disposition: form-data; name="d"\r\n',
             b"\r\n--AaB03\r\n--AaB03xy\r\n-AaB03x\r\n--AaB03")])),
        "unexpected_end": multipart(
            b"AaB03x", 536, 10, b"--AaB03x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nda"),
        "short_boundary_cut": multipart(b"x", 536, 10, form(b"x", [
            (b'Content-Disposition: form-data; name="a"\r\n', b"--x-x\r\n-"),
            (b'Content-Disposition: form-data; name="b"\r\n', b"x")]), cuts=(2, 0, 5)),
        "dash_boundary": multipart(b"--", 536, 10, form(b"--", [
            (b'Content-Disposition: form-data; name="a"\r\n', b"------")])),
        "browser_form": multipart(
            b"----WebKitFormBoundary7MA4YWxkTrZu0gW", 536, 10,
            form(b"----WebKitFormBoundary7MA4YWxkTrZu0gW", [
                (b'Content-Disposition: form-data; name="title"\r\n', b"cat"),
                (b'Content-Disposition: form-data; name="image"; filename="cat.gif"\r\n'
                 b"Content-Type: image/gif\r\n", b"GIF89a\x01\x00\x01\x00"),
            ])),
        "header_too_large": multipart(b"AaB03x", 32, 10, form(b"AaB03x", [
            (b'Content-Disposition: form-data; name="a-rather-long-field-name"\r\n', b"v")])),
        "too_many_parts": multipart(b"AaB03x", 536, 1, form(b"AaB03x", [
            (b'Content-Disposition: form-data; name="a"\r\n', b"1"),
            (b'Content-Disposition: form-data; name="b"\r\n', b"2")])),
        "missing_disposition": multipart(b"AaB03x", 536, 10, form(b"AaB03x", [
            (b"Content-Type: text/plain\r\n", b"v")])),
        "bare_lf": multipart(
            b"AaB03x", 536, 10, b"--AaB03x\nContent-Disposition: form-data; name=\"a\"\n\nv\n--AaB03x--\n"),
        "junk_after_delimiter": multipart(
            b"AaB03x", 536, 10, b"--AaB03x \tjunk\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n"),
    },
    "fuzz_resp_parser": {
        "get": resp(stream=b"*2\r\n$3\r\nGET\r\n$5\r\nhello\r\n"),
        "get_cut": resp(cuts=(1, 5, 2, 0), stream=b"*2\r\n$3\r\nGET\r\n$5\r\nhello\r\n"),
        "mget": resp(stream=b"*4\r\n$4\r\nMGET\r\n$1\r\na\r\n$1\r\nb\r\n$0\r\n\r\n"),
        "ping_inline": resp(stream=b"PING\r\n"),
        "inline_quotes": resp(stream=b"SET \"a b\\x41\\n\\t\\\\\" 'it\\'s'  x\r\n"),
        "pipelined_mix": resp(
            stream=b"PING\r\n*1\r\n$4\r\nPING\r\nECHO hi\n*2\r\n$4\r\nECHO\r\n$3\r\na\x00b\r\n"),
        "skipped_lines": resp(stream=b"\r\n\n   \r\n*0\r\n*-1\r\nPING\r\n"),
        "bulk_with_crlf": resp(stream=b"*2\r\n$4\r\nECHO\r\n$4\r\n\r\n\r\n\r\n"),
        "handshake": resp(
            stream=b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n*2\r\n$7\r\nCOMMAND\r\n$4\r\nDOCS\r\n"
            b"SELECT 0\r\nQUIT\r\n"),
        "negative_bulk": resp(stream=b"*2\r\n$-5\r\n"),
        "bad_count": resp(stream=b"*abc\r\n"),
        "leading_zero": resp(stream=b"*01\r\n$1\r\na\r\n"),
        "bulk_no_crlf": resp(stream=b"*1\r\n$4\r\nPINGxx"),
        "count_bare_lf": resp(stream=b"*1\n$4\r\nPING\r\n"),
        "unbalanced_quotes": resp(stream=b"ECHO \"abc\r\n"),
        "quote_then_text": resp(stream=b"ECHO \"a\"b\r\n"),
        "huge_lengths": resp(stream=b"*1000000\r\n$500000000\r\n"),
        "small_limits_args": resp(
            limits=1, stream=b"*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n"),
        "small_limits_bulk": resp(limits=1, stream=b"*1\r\n$17\r\n" + b"x" * 17 + b"\r\n"),
        "tiny_limits_inline": resp(limits=2, stream=b"GET\r\nGET k\r\n"),
        "inline_limit_16": resp(limits=3, stream=b"GET 0123456789abc\r\n*1\r\n$1\r\na\r\n"),
    },
    "fuzz_cache_fields": {
        "fresh_max_age": cache(later=2, request=b"Host:shop.example\nAccept:*/*",
                               response=b"Cache-Control:max-age=60\nDate:Sun, 29 Nov 2026 07:00:00 GMT"),
        "every_directive": cache(request=b"Cache-Control:max-age=0, max-stale, min-fresh=5, only-if-cached, no-cache",
                                 response=b"Cache-Control:public, s-maxage=5, must-revalidate, proxy-revalidate, "
                                          b"must-understand, no-transform, immutable, no-store, "
                                          b"stale-while-revalidate=30, stale-if-error=600, "
                                          b"private=\"X-A, X-B\", no-cache=\"Set-Cookie\""),
        "quoted_and_huge": cache(response=b"Cache-Control:max-age=\"99999999999999999999\", max-age=1\nAge:5, 7"),
        "expires_and_heuristic": cache(later=100, response=b"Expires:Sunday, 06-Nov-94 08:49:37 GMT\n"
                                                           b"Last-Modified:Sun Nov  6 08:49:37 1994\nExpires:0"),
        "vary": cache(request=b"Accept-Encoding:gzip ; q=1,  br\naccept-encoding:deflate\nAccept-Language:EN",
                      response=b"Vary:Accept-Encoding, accept-language\nVary:*\nCache-Control:max-age=9"),
        "conditional": cache(request=b"If-None-Match:W/\"1\", \"2\"\nIf-Modified-Since:Sun, 06 Nov 1994 08:49:37 GMT\n"
                                     b"If-Match:*\nETag:\"1\"\nDate:junk",
                             response=b"ETag:W/\"1\"\nLast-Modified:Sun, 06 Nov 1994 08:49:37 GMT\nConnection:x-a\nx-a:1"),
        "write_invalidates": cache(status=0, method=2, parent=True, request=b"Host:shop.example:80",
                                   response=b"Location:../x/./y?z#f\nContent-Location://shop.example/p/../q\n"
                                            b"Cache-Tag:a, b c\nSurrogate-Key:d"),
        "authorization_cookie": cache(request=b"Authorization:Bearer t\nPragma:no-cache",
                                      response=b"Set-Cookie:a=b\nCache-Control:max-age=60, private=set-cookie"),
    },
    "fuzz_json": {
        "message": json('{"destination":"sms:+15550100","body":"hello"}'),
        "message_escapes": json(
            r'{"destination":"user-42","body":"line one\nsaid \"hi\" \\ caf\u00e9 \ud83d\ude00 \/ \b\f\r\t\u0000"}'),
        "message_raw_utf8": json('{"body":"caf\u00e9 \u732b \U0001f408","destination":"d"}'),
        "message_whitespace": json(' \r\n\t{ "body" : "b" ,\n "destination"\t: "d" } \n'),
        "message_bom": json(b'\xef\xbb\xbf{"destination":"d","body":"b"}'),
        "duplicate_keys": json('{"destination":"a","destination":"bb","body":"c","body":"dd"}'),
        "unknown_field": json('{"destination":"d","body":"b","destnation":"x"}'),
        "wrong_types": json('{"destination":7,"body":null}'),
        "nested_field": json('{"destination":[{"a":[1,{"b":{}}]}],"body":"b"}'),
        "empty_fields": json('{"destination":"","body":""}'),
        "tiny_limits": json('{"destination":"d","body":"bb"}', limits=1),
        "small_limits": json('{"destination":"dddd","body":"0123456789abcdef"}', limits=2),
        "long_destination": json('{"destination":"' + "d" * 60 + '","body":"b"}', limits=3),
        "text_plain": json('{"destination":"d","body":"b"}', content_type=3),
        "vendor_type": json('{"destination":"d","body":"b"}', content_type=2),
        "arrays_64": json("[" * 64 + "]" * 64),
        "arrays_65": json("[" * 65 + "]" * 65),
        "objects_65": json('{"a":' * 64 + "{}" + "}" * 64),
        "mixed_over_limit_3": json('[{"k":[{"k":7}]}]', depth=4),
        "depth_1_limit": json('{"destination":["d"],"body":"b"}', depth=2),
        "scalars_only": json('"just a string"', depth=1),
        "unclosed": json("[" * 200),
        "numbers": json(
            "[0,-0,1,-1,1.5,-1.5e-308,1e308,2.2250738585072011e-308,0.1e1,1E+2,"
            "123456789012345678901234567890,18446744073709551615,18446744073709551616,"
            "-9223372036854775808,-9223372036854775809,0.30000000000000004]"),
        "long_number": json("1." + "1234567890" * 90 + "e-5"),
        "numbers_too_big": json("[1.7976931348623157e308,1.8e308,1841e308,-2e308]"),
        "numbers_tiny": json("[4.9e-324,2.5e-324,2e-324,-1e-400,0e-99999]"),
        "literals": json('[true,false,null,{"":[]}]'),
        "trailing_comma": json('{"destination":"d","body":"b",}'),
        "missing_colon": json('{"destination" "d"}'),
        "unterminated_string": json('{"destination":"d'),
        "bad_escape": json(r'["\x41"]'),
        "bad_literal": json("[tru]"),
        "lone_surrogate": json(r'["\ud800","\udc00x"]'),
        "control_char": json(b'["a\x01b"]'),
        "invalid_utf8": json(b'{"destination":"\xc3\x28","body":"\xff\xfe\xed\xa0\x80"}'),
        # A lead byte cut off by an escaped tab: invalid however the escape is dropped.
        "invalid_utf8_escape": json(b'{"destination":"d","body":"T\xd7\\t\x9c\\u0800"}'),
        "empty_key": json('{"":1,"destination":"d","body":"b"}'),
        "stray_bom_byte": json(b'\xbf{"destination":"d","body":"b"}'),
        "nul_after": json(b'{"destination":"d","body":"b"}\x00{}'),
        "two_roots": json("{} {}"),
        "empty": json(""),
        "whitespace_only": json(" \n\t\r"),
    },
}


def main():
    for target, seeds in SEEDS.items():
        folder = os.path.join(ROOT, target)
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        for name, data in seeds.items():
            assert len(data) <= 2048, name
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)
        print(f"{target}: {len(seeds)} seeds")


if __name__ == "__main__":
    main()
