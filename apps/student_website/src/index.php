<?php
// student_list website: a button that lists the students by calling the student_age API.
// Settings come from the environment (see the image's apache/student-website-env.conf).
declare(strict_types=1);

const DEFAULT_API_URL = 'http://api:5000/supmit/api/v1.0/get_student_ages';

function setting(string $name, string $default = ''): string
{
    $value = getenv($name);
    return ($value === false || $value === '') ? $default : $value;
}

/**
 * Calls the API. Returns [ages, null] on success, [null, message for the page] on failure.
 *
 * @return array{0: ?array<string, string>, 1: ?string}
 */
function fetch_students(string $url, string $username, string $password): array
{
    if ($username === '' || $password === '') {
        return [null, 'The website has no API credentials: set USERNAME and PASSWORD.'];
    }
    $context = stream_context_create(['http' => [
        'method' => 'GET',
        'header' => 'Authorization: Basic ' . base64_encode("$username:$password"),
        'timeout' => 5,
        // Read the body and status of 4xx/5xx answers too, instead of a bare warning.
        'ignore_errors' => true,
    ]]);
    $body = @file_get_contents($url, false, $context);
    if ($body === false) {
        return [null, "The student API at $url is unreachable."];
    }
    $status = 0;
    if (isset($http_response_header[0]) && preg_match('{^HTTP/\S+\s+(\d{3})}', $http_response_header[0], $m)) {
        $status = (int) $m[1];
    }
    if ($status === 401) {
        return [null, 'The student API refused the credentials (HTTP 401): check USERNAME and PASSWORD.'];
    }
    if ($status !== 200) {
        return [null, "The student API answered HTTP $status."];
    }
    $data = json_decode($body, true);
    if (!is_array($data) || !isset($data['student_ages']) || !is_array($data['student_ages'])) {
        return [null, 'The student API answered something that is not a student list.'];
    }
    return [$data['student_ages'], null];
}

$ages = null;
$error = null;
$listed = ($_SERVER['REQUEST_METHOD'] ?? 'GET') === 'POST';
if ($listed) {
    [$ages, $error] = fetch_students(setting('API_URL', DEFAULT_API_URL), setting('USERNAME'), setting('PASSWORD'));
    if ($error !== null) {
        error_log("student_website: $error");
    }
}

function e(mixed $value): string
{
    return htmlspecialchars((string) $value, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
}
?>
<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Student list</title>
  <style>
    body { font-family: sans-serif; margin: 2rem; }
    .error { color: #a00; }
    table { border-collapse: collapse; margin-top: 1rem; }
    td, th { border: 1px solid #ccc; padding: .3rem .8rem; text-align: left; }
  </style>
</head>
<body>
  <h1>Student list</h1>
  <form method="post">
    <button type="submit" name="list" value="1">List Student</button>
  </form>
<?php if ($error !== null): ?>
  <p class="error"><?= e($error) ?></p>
<?php elseif ($listed && $ages === []): ?>
  <p>The API knows no students yet.</p>
<?php elseif ($listed): ?>
  <table>
    <tr><th>Name</th><th>Age</th></tr>
<?php foreach ($ages as $name => $age): ?>
    <tr><td><?= e($name) ?></td><td><?= e($age) ?></td></tr>
<?php endforeach; ?>
  </table>
<?php endif; ?>
</body>
</html>
