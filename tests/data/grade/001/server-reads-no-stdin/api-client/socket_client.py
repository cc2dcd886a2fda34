import os
import socket
import time


def client_program():
    host = os.environ.get("SERVER_HOST", "socket_server")
    port = int(os.environ.get("SERVER_PORT", "5000"))

    client_socket = socket.socket()
    for _ in range(30):
        try:
            client_socket.connect((host, port))
            break
        except OSError:
            time.sleep(1)
    message = input(" -> ")
    while message.lower().strip() != "bye":
        client_socket.send(message.encode())
        data = client_socket.recv(1024).decode()
        print("Received from server: " + data)
        message = input(" -> ")
    client_socket.close()


if __name__ == "__main__":
    client_program()
