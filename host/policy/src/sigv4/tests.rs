//! AWS's published Signature V4 examples (the test suite's `get-vanilla` and
//! `get-vanilla-query-order-key-case`, S3's GET and PUT object examples), and a ListObjectsV2
//! request as the `s3` connector sends it, checked against botocore's signer.

use super::*;

const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn signature(authorization: &str) -> &str {
    authorization.rsplit("Signature=").next().unwrap()
}

#[test]
fn the_test_suites_get_vanilla() {
    let headers = h(&[
        ("Host", "example.amazonaws.com"),
        ("X-Amz-Date", "20150830T123600Z"),
    ]);
    let scope = SigV4Scope {
        amz_date: "20150830T123600Z",
        region: "us-east-1",
        service: "service",
    };
    let r = SigV4Request {
        method: "GET",
        path: "/",
        query: "",
        headers: &headers,
        payload_hash: EMPTY,
    };
    let (canonical, signed) = canonical_request(&r, "service");
    assert_eq!(
        canonical,
        format!("GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n{EMPTY}")
    );
    assert_eq!(signed, "host;x-amz-date");
    let auth = authorization(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        &r,
        &scope,
    );
    assert_eq!(
        auth,
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
         SignedHeaders=host;x-amz-date, \
         Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    );
    // The query's parameters are sorted.
    let r = SigV4Request {
        query: "Param2=value2&Param1=value1",
        ..r
    };
    let auth = authorization(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        &r,
        &scope,
    );
    assert_eq!(
        signature(&auth),
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
    );
}

#[test]
fn s3s_get_and_put_object_examples() {
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let scope = SigV4Scope {
        amz_date: "20130524T000000Z",
        region: "us-east-1",
        service: "s3",
    };
    let headers = h(&[
        ("host", "examplebucket.s3.amazonaws.com"),
        ("range", "bytes=0-9"),
        ("x-amz-content-sha256", EMPTY),
        ("x-amz-date", "20130524T000000Z"),
    ]);
    let get = SigV4Request {
        method: "GET",
        path: "/test.txt",
        query: "",
        headers: &headers,
        payload_hash: EMPTY,
    };
    assert_eq!(
        authorization("AKIAIOSFODNN7EXAMPLE", secret, &get, &scope),
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
         SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
         Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    );
    let body = sha256_hex(b"Welcome to Amazon S3.");
    assert_eq!(
        body,
        "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
    );
    let headers = h(&[
        ("Host", "examplebucket.s3.amazonaws.com"),
        ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
        ("x-amz-date", "20130524T000000Z"),
        ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ("x-amz-content-sha256", &body),
    ]);
    // `$` is sent encoded or not: the canonical URI encodes it once either way.
    for path in ["/test%24file.text", "/test$file.text"] {
        let put = SigV4Request {
            method: "PUT",
            path,
            query: "",
            headers: &headers,
            payload_hash: &body,
        };
        assert_eq!(
            signature(&authorization("AKIAIOSFODNN7EXAMPLE", secret, &put, &scope)),
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
            "{path}"
        );
    }
}

#[test]
fn a_list_objects_request_as_botocore_signs_it() {
    let headers = h(&[
        ("host", "127.0.0.1:5000"),
        ("x-amz-date", "20261202T180000Z"),
        ("x-amz-content-sha256", EMPTY),
    ]);
    let r = SigV4Request {
        method: "GET",
        path: "/bucket",
        query: "list-type=2&prefix=reports%2F2026",
        headers: &headers,
        payload_hash: EMPTY,
    };
    let scope = SigV4Scope {
        amz_date: "20261202T180000Z",
        region: "us-east-1",
        service: "s3",
    };
    assert_eq!(
        signature(&authorization("AKIDTEST", "secret/key+1", &r, &scope)),
        "8e54a0609df63bac7e66daf42c4a0fc53758fe22ed17c0d69df068fd482ab632"
    );
}

#[test]
fn dates_and_encodings() {
    assert_eq!(amz_date(0), "19700101T000000Z");
    assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
    assert_eq!(amz_date(951_782_400), "20000229T000000Z");
    assert_eq!(canonical_uri("/a b/c", "s3"), "/a%20b/c");
    assert_eq!(canonical_uri("/a%20b", "service"), "/a%2520b");
    assert_eq!(canonical_query("b=2&a=&c"), "a=&b=2&c=");
}
