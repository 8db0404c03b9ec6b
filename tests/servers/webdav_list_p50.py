"""The native side of the webdav connector's benchmark: the same listing as the benchmark's
webdav.list call — a PROPFIND at depth 1 for the same properties, with the same login, its
multistatus parsed into entries — N times with Python's `requests` (a new connection each
time, as the component makes) after 5 warm-ups; prints the median in milliseconds.
Usage: webdav_list_p50.py URL USER PASSWORD N EXPECTED_ENTRIES"""

import sys
import time
import xml.etree.ElementTree as ET

import requests

url, user, password, n, expected = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
BODY = (
    '<?xml version="1.0" encoding="utf-8"?>\n<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/>'
    "<D:getcontentlength/><D:getlastmodified/><D:getcontenttype/><D:getetag/></D:prop></D:propfind>"
)
D = "{DAV:}"
times = []
for i in range(n + 5):
    t = time.perf_counter()
    r = requests.request(
        "PROPFIND",
        url,
        auth=(user, password),
        headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8", "Connection": "close"},
        data=BODY,
    )
    assert r.status_code == 207, r.status_code
    entries = []
    for resp in ET.fromstring(r.content).iter(D + "response"):
        href = resp.find(D + "href").text
        props = {}
        for ps in resp.iter(D + "propstat"):
            if " 200 " in ps.find(D + "status").text:
                for p in ps.find(D + "prop"):
                    props[p.tag] = p
        is_dir = props.get(D + "resourcetype") is not None and props[D + "resourcetype"].find(D + "collection") is not None
        size = props.get(D + "getcontentlength")
        entries.append((href, is_dir, int(size.text) if size is not None and size.text else None))
    assert len(entries) == expected + 1, len(entries)
    if i >= 5:
        times.append(time.perf_counter() - t)
times.sort()
print("%.3f" % (times[len(times) // 2] * 1e3))
