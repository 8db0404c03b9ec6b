"""The native side of the s3 connector's benchmark: the same object as the benchmark's s3.get
call, fetched N times with boto3 (signed with Signature V4 by botocore, the body read whole)
after 5 warm-ups; prints the median in milliseconds. One client for the run, as a script
would keep it (its connection pool reused).
Usage: s3_get_p50.py ENDPOINT KEY_ID SECRET BUCKET KEY N"""

import sys
import time

import boto3

endpoint, key_id, secret, bucket, key, n = sys.argv[1:7]
n = int(n)
s3 = boto3.client(
    "s3",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id=key_id,
    aws_secret_access_key=secret,
)
times = []
for i in range(n + 5):
    t = time.perf_counter()
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert len(body) > 0
    if i >= 5:
        times.append(time.perf_counter() - t)
times.sort()
print("%.3f" % (times[len(times) // 2] * 1e3))
