<html>
<head><title>Student list</title></head>
<body>
<h1>Student checking app</h1>
<form action="" method="POST">
  <button type="submit" name="submit">List Student</button>
</form>
<?php
if ($_SERVER['REQUEST_METHOD'] == "POST" && isset($_POST['submit'])) {
    $username = getenv('USERNAME');
    $password = getenv('PASSWORD');
    $context = stream_context_create(array(
        "http" => array("header" => "Authorization: Basic " . base64_encode("$username:$password"))
    ));
    $url = 'http://api:5000/supmit/api/v1.0/get_student_ages';
    $list = json_decode(@file_get_contents($url, false, $context), true);
    echo "<p>This is the list of the students with their age</p>";
    foreach (($list["student_ages"] ?? array()) as $key => $value) {
        echo "- $key is $value years old <br>";
    }
}
?>
</body>
</html>
