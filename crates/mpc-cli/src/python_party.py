import asyncio
import ssl

from tno.mpc.communication import HttpCommunicator, HttpConnection, Pool


def context(purpose: ssl.Purpose) -> ssl.SSLContext:
    ctx = ssl.create_default_context(purpose=purpose)
    ctx.load_cert_chain(certfile="alice.crt", keyfile="alice.key")
    ctx.load_verify_locations(cafile="ca.crt")
    ctx.check_hostname = False  # parties are identified by certificate, not host name
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


async def main() -> None:
    pool = Pool("alice", HttpCommunicator(
        addr="0.0.0.0", port=8001,
        ssl_client_context=context(ssl.Purpose.SERVER_AUTH),
        ssl_server_context=context(ssl.Purpose.CLIENT_AUTH),
    ), timeout=30)
    pool.add_client("bob", HttpConnection("bob.example.org", 8002, cert="bob.crt"))
    await pool.initialize()  # starts the server: without it nothing listens
    await pool.send("bob", [1, 2, 3])
    print(await pool.recv("bob"))
    await pool.shutdown()


asyncio.run(main())
