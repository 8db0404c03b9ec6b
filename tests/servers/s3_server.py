"""An S3 API server for the s3 connector's tests, workflows and benchmark: moto's server on
127.0.0.1, with request signatures checked (AWS Signature V4) against IAM users it makes first:
`spud` may do anything in S3, `reader` may only list and get. The buckets named as arguments
are made too. Prints one line of JSON — the port and both key pairs — and stops when its
standard input closes, so a test process that ends or dies leaves no server behind.
Usage: s3_server.py BUCKET..."""

import json
import logging
import os
import socket
import sys
import threading

logging.disable(logging.WARNING)
logging.getLogger("werkzeug").disabled = True
BUCKETS = sys.argv[1:]
# The actions before signatures are checked: two users (user, key, policy each) and the
# buckets. Read by moto when it is imported.
os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = str(6 + len(BUCKETS))

import boto3  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
server.start()
endpoint = f"http://127.0.0.1:{port}"
# Before the checks start, any key pair is taken.
setup = dict(
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="AKIASETUPSETUPSETUP0",
    aws_secret_access_key="setup",
)
iam = boto3.client("iam", **setup)


def user(name, actions):
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
    }
    iam.put_user_policy(UserName=name, PolicyName="s3", PolicyDocument=json.dumps(policy))
    return {"key_id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}


writer = user("spud", ["s3:*"])
reader = user("reader", ["s3:ListBucket", "s3:GetObject"])
s3 = boto3.client("s3", **setup)
for bucket in BUCKETS:
    s3.create_bucket(Bucket=bucket)
print(json.dumps({"port": port, "writer": writer, "reader": reader}), flush=True)
sys.stdin.read()
os._exit(0)
