"""The native side of the email connector's benchmark: sends the same message as the benchmark's
smtp.send call N times with Python's smtplib (a connection, EHLO, AUTH and one message each, as
the component does) after 5 warm-ups, and prints the median in milliseconds.
Usage: smtp_send_p50.py PORT USER PASSWORD N"""

import smtplib
import sys
import time
from email.message import EmailMessage

port, user, password, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
times = []
for i in range(n + 5):
    m = EmailMessage()
    m["From"] = "Corner Shop <shop@corner.example>"
    m["To"] = "ann@supplier.example"
    m["Subject"] = "Order 1001"
    m.set_content("Please find our order below.\n\nBolt M8: 25\nNut M8: 30\n")
    t = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as s:
        s.login(user, password)
        s.send_message(m)
    if i >= 5:
        times.append(time.perf_counter() - t)
times.sort()
print("%.3f" % (times[len(times) // 2] * 1e3))
