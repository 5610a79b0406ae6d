"""Drives the test SQS server (moto, started by scripts/test.sh) with boto3, as an
operator's tooling or Amazon would: sqs.py ENDPOINT create NAME VISIBILITY | send URL
(body on stdin) | count URL."""
import sys

import boto3

endpoint, command, *args = sys.argv[1:]
sqs = boto3.client(
    "sqs",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)
if command == "create":
    name, visibility = args
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": visibility})["QueueUrl"]
    print(url)
elif command == "send":
    (url,) = args
    sqs.send_message(QueueUrl=url, MessageBody=sys.stdin.read())
elif command == "count":
    (url,) = args
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    print(int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"]))
else:
    sys.exit(f"unknown command {command}")
