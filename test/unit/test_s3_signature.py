"""data_manager_fleet signs its S3 requests as botocore (the AWS SDK) does: an S3 endpoint
that checks signatures (AWS, MinIO) takes them. moto, which the tests run, does not check."""

from __future__ import annotations

import datetime
import hashlib
import urllib.parse

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from data_manager_ros.tools.s3 import Credentials, presign, sign


@pytest.mark.parametrize(("method", "url", "body", "token"), [
    ("GET", "https://fleet.s3.eu-west-1.amazonaws.com/?list-type=2&prefix=.meta%2Frobot1%2F",
     b"", ""),
    ("GET", "http://127.0.0.1:9000/fleet/robot1/rosbag2_x/notes%20%C3%BC%20%231%25.txt", b"",
     ""),
    ("PUT", "http://127.0.0.1:9000/fleet/.meta/robot1/a.json", b'{"key": "robot1/a"}',
     "session-token"),
    ("GET", "https://fleet.s3.eu-west-1.amazonaws.com/?continuation-token=a%2Bb%3D&list-type=2"
            "&prefix=", b"", ""),
])
def test_the_signature_is_botocores(method, url, body, token):
    region = "eu-west-1"
    payload = hashlib.sha256(body).hexdigest()
    request = AWSRequest(method=method, url=url, data=body,
                         headers={"X-Amz-Content-SHA256": payload})
    S3SigV4Auth(BotoCredentials("AKIDEXAMPLE", "secret/key+", token or None), "s3",
                region).add_auth(request)
    when = datetime.datetime.strptime(request.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    ours = sign(method, url, {}, payload, Credentials("AKIDEXAMPLE", "secret/key+", token),
                region, when)
    assert ours["authorization"] == request.headers["Authorization"]


@pytest.mark.parametrize("token", ["", "session-token"])
def test_a_presigned_url_is_botocores(token):
    url = "http://127.0.0.1:9000/fleet/robot1/rosbag2_x/rosbag2_x_0.mcap"
    request = AWSRequest(method="GET", url=url)
    S3SigV4QueryAuth(BotoCredentials("AKIDEXAMPLE", "secret/key+", token or None), "s3",
                     "eu-west-1", expires=900).add_auth(request)
    theirs = urllib.parse.parse_qs(urllib.parse.urlsplit(request.url).query)
    when = datetime.datetime.strptime(theirs["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ")
    ours = urllib.parse.parse_qs(urllib.parse.urlsplit(presign(
        url, Credentials("AKIDEXAMPLE", "secret/key+", token), "eu-west-1", when, 900)).query)
    assert ours == theirs
