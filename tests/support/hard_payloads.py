"""Event `data` texts that are hard to carry byte-exactly to a JavaScript receiver.

`HARD_PAYLOADS` are accepted: each is the raw JSON text of an event's `data` (an
object or an array of objects), written as a client might send it. After
`canonical_json.loads` and `dumps`, both of the seed receiver's checks and the raw-body
check must pass. `REFUSED_PAYLOADS` are raw `data` texts (bytes, as on the wire) that
JavaScript cannot carry unchanged; `loads` must refuse every one (ingest answers 422).
Data only: the tests decide what to do with them.
"""

import base64
import json
import random

_CONTROLS = "".join(f"\\u{code:04x}" for code in range(0x20))
_DEEP_60 = '{"level":' * 59 + '{"bottom":true}' + "}" * 59
_DEEP_200 = '{"a":' * 199 + "{}" + "}" * 199
_LONG_QUOTES = json.dumps({"text": ('He said "stop" \\ then \\"go\\" ' * 2000)})
_APP = (
    '{"name":"Visual Studio Code","type":"application","category":"Development",'
    '"iconUrl":"https://cdn.example.com/icons/vscode.png","domain":null,"fullUrl":null,'
    '"productivityStatus":"productive"}'
)
_APP_TRACKING = (
    '[{"organisation":{"organisationId":"org_7f3a"},"team":{"teamId":"team_12"},'
    '"user":{"userId":"user_991"},"tracking":{"trackingId":"trk_0001","app":' + _APP + ","
    '"time":{"startDate":"2026-01-28T09:14:05.035Z","endDate":"2026-01-28T09:19:05.035Z",'
    '"durationInSeconds":300},"trackingMode":"online","operatingSystem":"macos"}}]'
)

HARD_PAYLOADS: list[tuple[str, str]] = [
    # ---- realistic shapes (Appendix A)
    ("app_tracking", _APP_TRACKING),
    (
        "activity_tracking",
        '{"organisation":{"organisationId":"org_7f3a"},"team":{"teamId":"team_12"},'
        '"user":{"userId":"user_991"},"activity":{"workMode":true,"privacyMode":false}}',
    ),
    # ---- numbers
    ("float_one_point_zero", '{"v":1.0,"w":-1.0,"x":100.0}'),
    ("float_point_one", '{"v":0.1,"w":0.2,"sum":0.30000000000000004}'),
    ("exp_1e21", '{"v":1e21,"w":1E21,"x":-1e21,"y":1e+21}'),
    ("exp_just_below_1e21", '{"v":999999999999999900000.0,"w":1e20,"x":123456789012345680000.0}'),
    ("exp_1e_minus_7", '{"v":1e-7,"w":1.5e-7,"x":-1e-7}'),
    ("small_plain_0_000001", '{"v":0.000001,"w":0.0000015,"x":1e-6}'),
    ("denormal_min", '{"v":5e-324,"w":-5e-324,"x":2.2250738585072014e-308}'),
    ("double_max", '{"v":1.7976931348623157e308,"w":-1.7976931348623157e308}'),
    ("huge_exponent", '{"v":1.5e300,"w":1.5E+300,"x":12.5e299}'),
    ("negative_zero", '{"int":-0,"float":-0.0,"exp":-0e5,"list":[-0,0,-0.0]}'),
    ("safe_integer_edges", '{"max":9007199254740991,"min":-9007199254740991,"pos":[1,-1,0]}'),
    ("integral_float_beyond_2_53", '{"v":9007199254740993.0,"w":1e16,"x":2e53}'),
    (
        "long_decimal_rounding",
        '{"v":0.1000000000000000055511151231257827,"w":3.141592653589793238}',
    ),
    ("mixed_exponent_forms", '{"a":1E2,"b":1e+2,"c":1.25e-2,"d":125e-4,"e":0.5e1}'),
    ("epoch_millis", '{"capturedAt":1769591645035,"duration":0.25,"ratio":66.66666666666667}'),
    # ---- strings
    ("every_control_character", '{"s":"' + _CONTROLS + '","k' + _CONTROLS + '":1}'),
    ("short_escapes", '{"s":"tab\\tnl\\ncr\\rbs\\bff\\fq\\"bsl\\\\"}'),
    ("line_and_paragraph_separators", '{"raw":"a\u2028b\u2029c","escaped":"\\u2028\\u2029"}'),
    ("del_and_c1", '{"s":"\\u007f\u007f\\u0080\\u009f"}'),
    ("emoji", '{"s":"ship it 🚀🔥 👩‍💻 🇫🇷","k🙂":"✓"}'),
    ("cjk", '{"title":"屏幕截图 スクリーンショット 스크린샷","名前":"山田太郎"}'),
    ("combining_marks", '{"s":"e\\u0301 a\u0308 Z\u0351\u0352\u0353 n\u0303"}'),
    ("rtl_text", '{"s":"مرحبا بالعالم \u200f שלום עולם","mark":"\\u202e\\u202c"}'),
    ("lone_high_surrogate", '{"s":"before\\ud800after","end":"\\udbff"}'),
    ("lone_low_surrogate", '{"s":"\\udc00","mid":"a\\udfffb"}'),
    ("surrogate_pair_as_escapes", '{"s":"\\ud83d\\ude00","k\\ud83d\\ude80":1}'),
    ("reversed_surrogate_pair", '{"s":"\\ude00\\ud83d"}'),
    ("surrogate_key_lone", '{"\\ud800":"lone key","x":"\\ud800\\ud800\\udc00"}'),
    ("unicode_escapes_of_ascii", '{"s":"\\u0041\\u0062\\u002f\\u005c\\u0022"}'),
    ("noncharacters", '{"s":"\\ufffe\\uffff\\ufeff\\ufffd"}'),
    ("long_quotes_and_backslashes", _LONG_QUOTES),
    ("slash_and_script", '{"html":"</script><\\/script>\\/","url":"https://a.example/x/y"}'),
    ("empty_strings", '{"":"","empty":"","list":["",""]}'),
    # ---- keys
    (
        "integer_like_keys_mixed",
        '{"10":"ten","2":"two","a":"a","1":"one","-1":"minus one","01":"zero one",'
        '"4294967295":"2^32-1","4294967294":"2^32-2","0":"zero"}',
    ),
    ("integer_like_keys_nested", '[{"b":{"3":1,"1":2},"a":[{"9":0,"x":1,"8":2}]}]'),
    ("integer_like_near_misses", '{"1.0":1,"1e3":2," 1":3,"+1":4,"00":5,"١":6,"1":7}'),
    ("big_index_keys", '{"99999999999":1,"4294967296":2,"123":3,"9007199254740993":4}'),
    ("proto_and_constructor", '{"__proto__":{"polluted":true},"constructor":{"prototype":1}}'),
    ("toString_hasOwnProperty", '{"toString":"x","hasOwnProperty":1,"valueOf":null}'),
    ("empty_key", '{"":1,"a":{"":{"":[]}}}'),
    ("duplicate_keys", '{"a":1,"b":2,"a":3,"2":"x","2":"y"}'),
    # ---- structure
    ("nesting_60_deep", _DEEP_60),
    ("array_of_arrays", '[{"m":[[[[[[[[[[1]]]]]]]]]],"e":[],"o":{}}]'),
    ("literals", '{"t":true,"f":false,"n":null,"list":[true,false,null]}'),
    ("many_keys", "{" + ",".join(f'"k{i}":{i}' for i in range(500)) + "}"),
    ("whitespace_heavy", '  {\n\t"a" :\r\n [ 1 ,\t2 , { "b" : "c d" } ] ,\n "e" : { }  }\n  '),
    ("array_of_objects", "[" + ",".join(f'{{"i":{i},"v":{i / 7}}}' for i in range(200)) + "]"),
]


def screenshot_payload(megabytes: float = 3) -> str:
    """A screenshot event's `data` (Appendix A) whose base64 image is about `megabytes`."""
    image = random.Random(20260128).randbytes(int(megabytes * 1024 * 1024 * 3 / 4))
    item = {
        "organisation": {"organisationId": "org_7f3a"},
        "team": {"teamId": "team_12"},
        "user": {"userId": "user_991"},
        "screenshot": {
            "screenshotId": "scr_0001",
            "imageBuffer": base64.b64encode(b"\xff\xd8\xff\xe0" + image).decode("ascii"),
            "app": json.loads(_APP),
            "time": {"capturedAt": "2026-01-28T09:14:05.035Z"},
            "operatingSystem": "windows",
            "workType": "remote",
            "isIdle": False,
        },
    }
    return json.dumps([item], ensure_ascii=False)


# Raw `data` texts (not whole ingest bodies): each must be refused by `loads`.
REFUSED_PAYLOADS: list[tuple[str, bytes]] = [
    ("integer_2_53", b'{"v":9007199254740992}'),
    ("integer_2_53_plus_1", b'{"v":9007199254740993}'),
    ("integer_minus_2_53_plus_1", b'{"v":-9007199254740993}'),
    ("integer_huge", b'{"v":123456789012345678901234567890}'),
    ("overflow_1e400", b'{"v":1e400}'),
    ("overflow_negative", b'{"v":-1e400}'),
    ("nan", b'{"v":NaN}'),
    ("infinity", b'{"v":Infinity}'),
    ("minus_infinity", b'{"v":-Infinity}'),
    ("nesting_200_deep", _DEEP_200.encode()),
    ("invalid_utf8_byte", b'{"v":"\xff"}'),
    ("invalid_utf8_truncated", b'{"v":"\xe2\x82"}'),
    ("utf8_encoded_surrogate", b'{"v":"\xed\xa0\x80"}'),
    ("overlong_utf8", b'{"v":"\xc0\xaf"}'),
]
