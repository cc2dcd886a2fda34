import socket


def server_program():
    host = "0.0.0.0"
    port = 5000

    server_socket = socket.socket()
    server_socket.bind((host, port))
    server_socket.listen(1)
    conn, address = server_socket.accept()
    print("Connection from: " + str(address))
    # The loop was forgotten: one message read, then the program ends.
    data = conn.recv(1024).decode()
    print("from connected user: " + str(data))
    conn.close()


if __name__ == "__main__":
    server_program()
