"""Just enough of the S3 API for ``data_manager_fleet``: list, get, put and create a bucket,
signed with AWS Signature Version 4, over ``requests`` (already a dependency), so an
operator's tool needs no SDK. Works against AWS S3 (virtual-hosted addressing) and any S3
endpoint of its own, MinIO or moto (path-style addressing)."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import os
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import requests

from data_manager_ros import digest

_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class S3Error(RuntimeError):
    """The S3 API refused a request; says which and what the service answered."""


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    session_token: str = ""

    @classmethod
    def from_environment(cls) -> Credentials:
        access = os.environ.get("AWS_ACCESS_KEY_ID")
        secret = os.environ.get("AWS_SECRET_ACCESS_KEY")
        if not access or not secret:
            raise S3Error("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set (the "
                          "credentials of the bucket)")
        return cls(access, secret, os.environ.get("AWS_SESSION_TOKEN", ""))


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _signature(credentials: Credentials, region: str, now: datetime.datetime,
               canonical: str) -> str:
    """SigV4's signature of a canonical request, for service s3."""
    stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, f"{day}/{region}/s3/aws4_request",
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{credentials.secret_key}".encode(), day), region),
                      "s3"), "aws4_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def presign(url: str, credentials: Credentials, region: str, now: datetime.datetime,
            expires_s: int) -> str:
    """A GET of ``url`` (no query of its own) that whoever holds it may make until it
    expires: SigV4 in the query, as the AWS SDKs presign, so a browser (Foxglove) can read
    one object without the bucket's credentials."""
    stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    query = {"X-Amz-Algorithm": "AWS4-HMAC-SHA256",
             "X-Amz-Credential": f"{credentials.access_key}/{day}/{region}/s3/aws4_request",
             "X-Amz-Date": stamp, "X-Amz-Expires": str(expires_s), "X-Amz-SignedHeaders": "host"}
    if credentials.session_token:
        query["X-Amz-Security-Token"] = credentials.session_token
    encoded = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(query.items()))
    parts = urlsplit(url)
    canonical = "\n".join(["GET", parts.path or "/", encoded, f"host:{parts.netloc}\n", "host",
                           "UNSIGNED-PAYLOAD"])
    return f"{url}?{encoded}&X-Amz-Signature={_signature(credentials, region, now, canonical)}"


def sign(method: str, url: str, headers: dict[str, str], payload_sha256: str,
         credentials: Credentials, region: str, now: datetime.datetime) -> dict[str, str]:
    """The headers of a request signed with SigV4 for service s3 (``url``'s path and query
    already percent-encoded as they are sent)."""
    stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    parts = urlsplit(url)
    signed = {**{k.lower(): v.strip() for k, v in headers.items()}, "host": parts.netloc,
              "x-amz-date": stamp, "x-amz-content-sha256": payload_sha256}
    if credentials.session_token:
        signed["x-amz-security-token"] = credentials.session_token
    names = sorted(signed)
    pairs = sorted(tuple((item.split("=", 1) + [""])[:2])
                   for item in parts.query.split("&") if item)
    query = "&".join(f"{name}={value}" for name, value in pairs)
    canonical = "\n".join([method, parts.path or "/", query,
                           "".join(f"{name}:{signed[name]}\n" for name in names),
                           ";".join(names), payload_sha256])
    scope = f"{day}/{region}/s3/aws4_request"
    signature = _signature(credentials, region, now, canonical)
    signed["authorization"] = (f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
                               f"SignedHeaders={';'.join(names)}, Signature={signature}")
    del signed["host"]  # requests sets it
    return signed


def _encode(value: str, safe: str = "") -> str:
    return quote(value, safe="-_.~" + safe)


class Bucket:
    def __init__(self, name: str, *, endpoint: str = "", region: str = "us-east-1",
                 credentials: Credentials | None = None, timeout_s: float = 60.0) -> None:
        """``endpoint`` "": AWS S3 in ``region``."""
        self.name = name
        self.region = region
        self._credentials = credentials or Credentials.from_environment()
        self._base = (f"{endpoint.rstrip('/')}/{_encode(name)}" if endpoint
                      else f"https://{name}.s3.{region}.amazonaws.com")
        self._timeout = timeout_s
        self._session = requests.Session()

    def _request(self, method: str, key: str = "", query: dict[str, str] | None = None,
                 body: bytes = b"", stream: bool = False, bucket_level: bool = False,
                 headers: dict[str, str] | None = None) -> requests.Response:
        """``headers``: more headers, signed like the rest."""
        url = self._base + ("" if bucket_level else "/" + _encode(key, "/"))
        if query:
            url += "?" + "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(query.items()))
        signed = sign(method, url, headers or {}, hashlib.sha256(body).hexdigest(),
                      self._credentials, self.region,
                      datetime.datetime.now(datetime.timezone.utc))
        response = self._session.request(method, url, headers=signed, data=body or None,
                                         stream=stream, timeout=self._timeout)
        if response.status_code >= 300:
            raise S3Error(f"{method} {url}: HTTP {response.status_code} {response.text[:300]}")
        return response

    def presigned(self, key: str, expires_s: int = 3600) -> str:
        """A URL that GETs ``key`` without credentials for ``expires_s``."""
        return presign(self._base + "/" + _encode(key, "/"), self._credentials, self.region,
                       datetime.datetime.now(datetime.timezone.utc), expires_s)

    def create(self) -> None:
        self._request("PUT", bucket_level=True)

    def put(self, key: str, data: bytes) -> None:
        self._request("PUT", key, body=data)

    def get(self, key: str, limit: int | None = None) -> bytes:
        """An object's bytes; past ``limit`` bytes, S3Error (an object that is not what its
        key says can be any size)."""
        with self._request("GET", key, stream=True) as response:
            body = bytearray()
            for block in response.iter_content(1 << 16):
                body += block
                if limit is not None and len(body) > limit:
                    raise S3Error(f"{key}: larger than the {limit} bytes expected of it")
        return bytes(body)

    def get_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes ``start`` to ``end`` (exclusive) of an object: one ranged GET."""
        data = self._request("GET", key, headers={"Range": f"bytes={start}-{end - 1}"}).content
        if len(data) != end - start:
            raise S3Error(f"GET {key} bytes {start}-{end - 1}: {len(data)} bytes came back")
        return data

    def exists(self, key: str) -> bool:
        try:
            self._request("HEAD", key)
        except S3Error as error:
            if " HTTP 404 " in f"{error} ":
                return False
            raise
        return True

    def download(self, key: str, path: str, algorithm: str) -> str:
        """Stream an object into ``path``; returns its digest (data_manager_ros.digest's
        form) in ``algorithm``."""
        hasher = digest.hasher(algorithm)
        with self._request("GET", key, stream=True) as response, open(path, "wb") as handle:
            for block in response.iter_content(1 << 20):
                hasher.update(block)
                handle.write(block)
        return f"{algorithm}:{hasher.hexdigest()}"

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every key under ``prefix`` (ListObjectsV2, page by page)."""
        token = ""
        while True:
            query = {"list-type": "2", "prefix": prefix}
            if token:
                query["continuation-token"] = token
            root = ElementTree.fromstring(self._request("GET", query=query,
                                                        bucket_level=True).content)
            for item in root.iter(f"{_NS}Contents"):
                yield item.findtext(f"{_NS}Key", "")
            if root.findtext(f"{_NS}IsTruncated") != "true":
                return
            token = root.findtext(f"{_NS}NextContinuationToken", "")
